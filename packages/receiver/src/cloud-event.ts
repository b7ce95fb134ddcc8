import { z } from "zod";
import { InvalidEventError } from "./errors.js";

export const PING_TYPE = "dev.mcic.ping";
export const SNAPSHOT_COMPLETED_TYPE = "dev.mcic.snapshot.completed";

// A part of a state key: the key is split on `/`, so no part may hold one (nor be absurdly long).
const part = z
  .string()
  .min(1)
  .max(253)
  .refine((s) => !s.includes("/"), "must not contain /");
const group = z
  .string()
  .max(253)
  .refine((s) => !s.includes("/"), "must not contain /");
const resourceVersion = z.string().min(1).max(128);

const CloudEventSchema = z.object({
  specversion: z.literal("1.0"),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  subject: z.string().optional(),
  time: z.string().optional(),
  datacontenttype: z.string().optional(),
  data: z.unknown(),
});

/** `data` of an object event: mcic's envelope (docs/contract.md "Events on NATS"); unknown fields pass. */
export const ObjectEventDataSchema = z.object({
  id: z.string().min(1),
  cluster: part,
  group,
  version: z.string().min(1),
  resource: part,
  kind: z.string().min(1),
  namespace: part.optional(),
  name: part,
  uid: z.string().min(1),
  resourceVersion,
  type: z.enum(["ADDED", "MODIFIED", "DELETED"]),
  observedAt: z.string(),
  object: z.record(z.string(), z.unknown()),
  snapshot: z.boolean().optional(),
  requestId: z.string().min(1).optional(),
  changedPaths: z.array(z.string()).optional(),
});
export type ObjectEventData = z.infer<typeof ObjectEventDataSchema>;

/** `data` of `dev.mcic.snapshot.completed`: one per snapshot, cluster and resource. */
export const SnapshotCompletedDataSchema = z.object({
  cluster: part,
  group,
  version: z.string().min(1),
  resource: part,
  requestId: z.string().min(1).max(256),
  count: z.number().int().min(0),
  resourceVersion,
});
export type SnapshotCompletedData = z.infer<typeof SnapshotCompletedDataSchema>;

export type CloudEvent = z.infer<typeof CloudEventSchema>;

export type ParsedEvent =
  | { kind: "object"; event: CloudEvent; data: ObjectEventData }
  | { kind: "snapshot-completed"; event: CloudEvent; data: SnapshotCompletedData }
  | { kind: "ping"; event: CloudEvent }
  | { kind: "other"; event: CloudEvent };

function fail(error: z.ZodError, prefix: string): never {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].filter(Boolean).join(".");
  throw new InvalidEventError(`${path || "body"}: ${issue?.message ?? "invalid"}`, path || undefined);
}

const OBJECT_TYPE = /^dev\.mcic\.[^.]+\.(added|modified|deleted)$/;

/** Parses a verified body into one of the events mcic sends; anything malformed is a 400 naming the field. */
export function parseEvent(body: Buffer): ParsedEvent {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new InvalidEventError("body is not JSON");
  }
  const ce = CloudEventSchema.safeParse(json);
  if (!ce.success) fail(ce.error, "");
  const event = ce.data;
  if (event.type === PING_TYPE) return { kind: "ping", event };
  if (event.type === SNAPSHOT_COMPLETED_TYPE) {
    const data = SnapshotCompletedDataSchema.safeParse(event.data);
    if (!data.success) fail(data.error, "data");
    return { kind: "snapshot-completed", event, data: data.data };
  }
  const verb = OBJECT_TYPE.exec(event.type)?.[1];
  if (!verb) return { kind: "other", event };
  const data = ObjectEventDataSchema.safeParse(event.data);
  if (!data.success) fail(data.error, "data");
  if (data.data.type.toLowerCase() !== verb || event.type !== `dev.mcic.${data.data.resource}.${verb}`) {
    throw new InvalidEventError(`type ${event.type} does not match data.resource and data.type`, "type");
  }
  return { kind: "object", event, data: data.data };
}
