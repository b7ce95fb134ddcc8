import { z } from "zod";

/** A held object (`object` set) or the tombstone of a deleted one (`deletedAt` set). */
export const ObjectRecordSchema = z.object({
  uid: z.string(),
  rv: z.string(),
  object: z.record(z.string(), z.unknown()).optional(),
  deletedAt: z.number().optional(),
  /**
   * requestIds of the last snapshots that delivered this object, newest last (at most
   * SNAPSHOTS_KEPT): two snapshots can overlap, and the older one's sweep must still see it.
   */
  snapshots: z.array(z.string()).optional(),
  /** On a tombstone a sweep left: the snapshot whose sweep removed the object. */
  sweptBy: z.string().optional(),
});
export type ObjectRecord = z.infer<typeof ObjectRecordSchema>;

/** A `dev.mcic.snapshot.completed` received but not yet swept. */
export const PendingSweepSchema = z.object({
  requestId: z.string(),
  cluster: z.string(),
  group: z.string(),
  resource: z.string(),
  count: z.number(),
  resourceVersion: z.string(),
  arrivedAt: z.number(),
});
export type PendingSweep = z.infer<typeof PendingSweepSchema>;

/** Per cluster/group/resource: the list resourceVersion of the last sweep, so an older completion is ignored. */
export const ScopeRecordSchema = z.object({ sweptRv: z.string() });

export const SNAPSHOTS_KEPT = 4;

export const storeKey = {
  object: (key: string) => `o/${key}`,
  pending: (scope: string, requestId: string) => `p/${JSON.stringify([scope, requestId])}`,
  scope: (scope: string) => `s/${scope}`,
};
