import { z } from "zod";

export const EVENT_TYPES = ["ADDED", "MODIFIED", "DELETED"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The message mcic publishes to JetStream for every change it observes (docs/contract.md "Events on NATS"). */
export const EnvelopeSchema = z.object({
  id: z.string().min(1),
  cluster: z.string().min(1),
  /** "" for the core API group, as Kubernetes writes it. */
  group: z.string(),
  version: z.string().min(1),
  resource: z.string().min(1),
  kind: z.string().min(1),
  namespace: z.string().min(1).optional(),
  name: z.string().min(1),
  uid: z.string().min(1),
  resourceVersion: z.string().min(1),
  type: z.enum(EVENT_TYPES),
  observedAt: z.string(),
  object: z.record(z.string(), z.unknown()),
  snapshot: z.boolean().optional(),
  /** The snapshot request these snapshot events answer (see snapshot-completed.ts). */
  requestId: z.string().min(1).optional(),
  /**
   * Marks the record that ends one snapshot of one (cluster, resource) for one server: it travels
   * the delivery queue like an object's event and is sent as `dev.mcic.snapshot.completed`.
   */
  snapshotCompleted: z.object({ count: z.number().int().min(0) }).optional(),
  /**
   * A Secret's values (`data`, `stringData`, the last-applied annotation), sealed with SecretBox
   * for this envelope id; `object` then holds "REDACTED" in their place (secret-values.ts).
   */
  sealedSecretValues: z.string().optional(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** The envelope id, also the Nats-Msg-Id: one change has one id, whoever publishes it. */
export function envelopeId(cluster: string, uid: string, resourceVersion: string, type: EventType): string {
  return `${cluster}/${uid}/${resourceVersion}/${type}`;
}

/** Subject token for an API group: `core` for the core group, dots replaced (they split tokens). */
export function groupToken(group: string): string {
  return group === "" ? "core" : group.replaceAll(".", "_");
}

/** `<prefix>.events.<cluster>.<group>.<resource>.<namespace>`; `_` for cluster-scoped objects. */
export function eventSubject(
  prefix: string,
  e: Pick<Envelope, "cluster" | "group" | "resource" | "namespace">,
): string {
  return `${prefix}.events.${e.cluster}.${groupToken(e.group)}.${e.resource}.${e.namespace ?? "_"}`;
}

export function eventsStreamName(prefix: string): string {
  return `${prefix.toUpperCase().replaceAll("-", "_")}_EVENTS`;
}

export function eventsSubjectWildcard(prefix: string): string {
  return `${prefix}.events.>`;
}
