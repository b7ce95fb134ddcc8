import { z } from "zod";
import { type Envelope, groupToken } from "./envelope.js";
import type { CloudEvent } from "./webhook.js";

export const SNAPSHOT_COMPLETED_TYPE = "dev.mcic.snapshot.completed";

/** `data` of a `dev.mcic.snapshot.completed` CloudEvent (docs/contract.md "Snapshots"). */
export const SnapshotCompletedDataSchema = z.object({
  cluster: z.string(),
  group: z.string().meta({ description: '"" for the core API group, as in envelopes' }),
  version: z.string(),
  resource: z.string(),
  requestId: z.string().meta({ description: "the snapshot's id, also in the `requestId` of its object events" }),
  count: z
    .number()
    .int()
    .min(0)
    .meta({ description: "snapshot ADDED events queued for this server for this cluster and resource" }),
  resourceVersion: z.string().meta({ description: "resourceVersion of the list the snapshot was taken from" }),
});
export type SnapshotCompletedData = z.infer<typeof SnapshotCompletedDataSchema>;

/** `snapshot/<requestId>/<cluster>/<groupToken>/<resource>`: the event id and webhook-id. */
export function snapshotCompletedId(requestId: string, cluster: string, group: string, resource: string): string {
  return `snapshot/${requestId}/${cluster}/${groupToken(group)}/${resource}`;
}

/**
 * The completed notice as the delivery queue carries it: envelope-shaped, so lanes, the order
 * guard, retries, dead letters and replays treat it as one version of an object of its own (its
 * uid is its id: nothing supersedes it and it waits for nothing). Only toCloudEvent tells it apart.
 */
export function snapshotCompletedEnvelope(data: SnapshotCompletedData, observedAt: string): Envelope {
  const id = snapshotCompletedId(data.requestId, data.cluster, data.group, data.resource);
  return {
    id,
    cluster: data.cluster,
    group: data.group,
    version: data.version,
    resource: data.resource,
    kind: "SnapshotCompleted",
    name: data.resource,
    uid: id,
    resourceVersion: data.resourceVersion,
    type: "ADDED",
    observedAt,
    object: {},
    snapshot: true,
    requestId: data.requestId,
    snapshotCompleted: { count: data.count },
  };
}

/** The CloudEvent of a completed notice, or undefined for any other envelope. */
export function snapshotCompletedEvent(envelope: Envelope): CloudEvent | undefined {
  if (!envelope.snapshotCompleted || envelope.requestId === undefined) return undefined;
  const data: SnapshotCompletedData = {
    cluster: envelope.cluster,
    group: envelope.group,
    version: envelope.version,
    resource: envelope.resource,
    requestId: envelope.requestId,
    count: envelope.snapshotCompleted.count,
    resourceVersion: envelope.resourceVersion,
  };
  return {
    specversion: "1.0",
    id: envelope.id,
    source: `/clusters/${envelope.cluster}`,
    type: SNAPSHOT_COMPLETED_TYPE,
    subject: envelope.resource,
    time: envelope.observedAt,
    datacontenttype: "application/json",
    data,
  };
}
