import type { Redis } from "ioredis";
import { z } from "zod";
import { CorruptDataError } from "./errors.js";
import type { RedisKeys } from "./keys.js";

export const SNAPSHOT_STATES = ["pending", "taken", "failed"] as const;
export type SnapshotState = (typeof SNAPSHOT_STATES)[number];

/** How one cluster's part of a snapshot went (`GET /servers/{name}` → status.snapshot.clusters). */
export const SnapshotClusterOutcomeSchema = z.object({
  cluster: z.string(),
  state: z.enum(SNAPSHOT_STATES),
  reason: z.string().optional(),
  objects: z.number().int().min(0).optional(),
  at: z.string(),
});
export type SnapshotClusterOutcome = z.infer<typeof SnapshotClusterOutcomeSchema>;

export const SnapshotStatusSchema = z.object({
  requestId: z.string(),
  requestedAt: z.string(),
  clusters: z.array(SnapshotClusterOutcomeSchema),
});
export type SnapshotStatus = z.infer<typeof SnapshotStatusSchema>;

const REQUEST_ID = "requestId";
const REQUESTED_AT = "requestedAt";
const CLUSTER_FIELD = "cluster:";

// Writes one cluster's outcome only while the hash still belongs to this request (a later resync
// owns it otherwise); ARGV[4] = "nx" writes only when the cluster has no outcome yet.
const RECORD = `
if redis.call('HGET', KEYS[1], '${REQUEST_ID}') ~= ARGV[1] then return 0 end
if ARGV[4] == 'nx' then return redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3]) end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1`;

/**
 * The latest snapshot of each server and how each cluster's part of it went, in one Redis hash
 * per server: the API starts it, watchers record their clusters as they finish. A new snapshot
 * replaces the previous one; outcomes of an older request are not written over it.
 */
export class SnapshotStatusStore {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  async begin(server: string, requestId: string, requestedAt: string): Promise<void> {
    const key = this.#keys.serverSnapshot(server);
    await this.#redis.multi().del(key).hset(key, REQUEST_ID, requestId, REQUESTED_AT, requestedAt).exec();
  }

  /** True when written; false when another request owns the status now (or `onlyIfNew` and one exists). */
  async record(
    server: string,
    requestId: string,
    outcome: SnapshotClusterOutcome,
    options: { onlyIfNew?: boolean } = {},
  ): Promise<boolean> {
    const written = await this.#redis.eval(
      RECORD,
      1,
      this.#keys.serverSnapshot(server),
      requestId,
      CLUSTER_FIELD + outcome.cluster,
      JSON.stringify(SnapshotClusterOutcomeSchema.parse(outcome)),
      options.onlyIfNew ? "nx" : "",
    );
    return written === 1;
  }

  /** The latest snapshot, clusters sorted by name; undefined when none was requested. */
  async read(server: string): Promise<SnapshotStatus | undefined> {
    const key = this.#keys.serverSnapshot(server);
    return parseSnapshotStatus(key, await this.#redis.hgetall(key));
  }
}

/** The hash as HGETALL returns it → SnapshotStatus; a field that does not fit is a CorruptDataError. */
export function parseSnapshotStatus(key: string, hash: Record<string, string>): SnapshotStatus | undefined {
  const requestId = hash[REQUEST_ID];
  const requestedAt = hash[REQUESTED_AT];
  if (requestId === undefined || requestedAt === undefined) return undefined;
  const clusters: SnapshotClusterOutcome[] = [];
  for (const [field, value] of Object.entries(hash)) {
    if (!field.startsWith(CLUSTER_FIELD)) continue;
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch {
      throw new CorruptDataError(key, `${field} is not JSON`);
    }
    const parsed = SnapshotClusterOutcomeSchema.safeParse(json);
    if (!parsed.success) throw new CorruptDataError(key, `${field} does not fit the schema`);
    clusters.push(parsed.data);
  }
  clusters.sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0));
  return { requestId, requestedAt, clusters };
}
