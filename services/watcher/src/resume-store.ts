import { createHash } from "node:crypto";
import { z } from "zod";
import { McicError, type Redis, type RedisKeys } from "@mcic/core";

// Fenced write of every pending scope of one cluster: only the lease holder may move a cluster's
// resume points, so a replica that lost its lease (paused, partitioned) cannot overwrite what the
// new owner wrote. All keys carry the cluster's hash tag, so the script stays in one slot.
// KEYS: lease, resume hash, then one objects hash per scope.
// ARGV: owner, then per scope: scope, point, nset, ndel, nset uid/value pairs, ndel uids.
const SAVE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local a = 2
for k = 3, #KEYS do
  local scope, point = ARGV[a], ARGV[a + 1]
  local nset, ndel = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  a = a + 4
  for i = 0, nset - 1 do redis.call('HSET', KEYS[k], ARGV[a + i * 2], ARGV[a + i * 2 + 1]) end
  a = a + nset * 2
  for i = 0, ndel - 1 do redis.call('HDEL', KEYS[k], ARGV[a + i]) end
  a = a + ndel
  redis.call('HSET', KEYS[2], scope, point)
end
return 1`;

const ResumePoint = z.object({ rv: z.string(), fingerprint: z.string() });
// [rv, namespace, name, kind, sections?]: records written before section hashes existed have four.
const Known = z.union([
  z.tuple([z.string(), z.string(), z.string(), z.string()]),
  z.tuple([z.string(), z.string(), z.string(), z.string(), z.string()]),
]);

const SAVE_SHA = createHash("sha1").update(SAVE).digest("hex");

/**
 * Runs the save script by its SHA, loading it on a NOSCRIPT answer (a new or flushed Redis).
 * Not ioredis' defineCommand: a command defined while an auto-pipeline is pending is missing
 * from that pipeline.
 */
async function runSave(redis: Redis, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await redis.evalsha(SAVE_SHA, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err as Error).message.startsWith("NOSCRIPT")) throw err;
    return redis.eval(SAVE, keys.length, ...keys, ...args);
  }
}

/** Another replica holds the cluster now: nothing more may be published or saved from here. */
export class LeaseLostError extends McicError {
  constructor(cluster: string) {
    super("lease_lost", `lease on cluster ${cluster} is no longer ours`);
  }
}

/** What a watcher remembers of one object, enough to tell changes and deletions after a gap. */
export interface KnownObject {
  rv: string;
  namespace?: string;
  name: string;
  kind: string;
  /**
   * Per-section hashes of the version at `rv` (section-hashes.ts), to tell a MODIFIED's changed
   * sections; absent in state written before they existed (its next MODIFIED has no changedPaths).
   */
  sections?: string;
}

export interface ResumeState {
  rv?: string;
  known: Map<string, KnownObject>;
}

export interface ScopeStore {
  load(): Promise<ResumeState>;
  /**
   * Resolves once the change is stored. `now`: write at the next turn instead of with the
   * cluster's next batch (the first resume point, and at stop).
   */
  save(set: Map<string, KnownObject>, del: Set<string>, rv: string, now?: boolean): Promise<void>;
}

interface PendingSave {
  scope: string;
  set: Map<string, KnownObject>;
  del: Set<string>;
  rv: string;
  done: { resolve: () => void; reject: (err: Error) => void };
}

export interface ClusterStoreOptions {
  redis: Redis;
  keys: RedisKeys;
  cluster: string;
  watcherId: string;
  /** The cluster's API URL: state saved for another URL is discarded (its versions mean nothing here). */
  fingerprint: string;
  /** How long changes gather before one write carries all of the cluster's scopes. */
  batchMs?: number;
}

/**
 * Where the watches of one cluster resume: per scope (resource or resource@namespace), the last
 * resourceVersion whose events are all stored in JetStream, and uid → (rv, namespace, name, kind,
 * section hashes) of every object it published. Saves of all scopes are gathered for `batchMs`
 * and written in one fenced script call: a Redis call costs the watcher about 25 µs of CPU, so
 * one per event was a quarter of its work. What a crash loses is only republished, and JetStream drops those
 * duplicates by message id.
 */
export class ClusterResumeStore {
  readonly #o: Required<ClusterStoreOptions>;
  #pending: PendingSave[] = [];
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #hurry = false;

  constructor(options: ClusterStoreOptions) {
    this.#o = { batchMs: 1000, ...options };
  }

  /** The store of one scope of this cluster. */
  scope(scope: string): ScopeStore {
    const { redis, keys, cluster, fingerprint } = this.#o;
    const objectsKey = keys.clusterObjects(cluster, scope);
    return {
      load: async () => {
        const [point, objects] = await Promise.all([
          redis.hget(keys.clusterResume(cluster), scope),
          redis.hgetall(objectsKey),
        ]);
        const parsed = point ? ResumePoint.safeParse(safeJson(point)) : undefined;
        if (!parsed?.success || parsed.data.fingerprint !== fingerprint) return { known: new Map() };
        const known = new Map<string, KnownObject>();
        for (const [uid, text] of Object.entries(objects)) {
          const entry = Known.safeParse(safeJson(text));
          // An unreadable entry only costs a re-publish of that object at the next relist.
          if (!entry.success) continue;
          const [rv, namespace, name, kind, sections] = entry.data;
          const k: KnownObject = namespace ? { rv, namespace, name, kind } : { rv, name, kind };
          if (sections !== undefined) k.sections = sections;
          known.set(uid, k);
        }
        return { rv: parsed.data.rv, known };
      },
      save: (set, del, rv, now) =>
        new Promise<void>((resolve, reject) => {
          this.#pending.push({ scope, set, del, rv, done: { resolve, reject } });
          if (now || this.#hurry) this.#immediate ??= setImmediate(() => this.#flush());
          else this.#timer ??= setTimeout(() => this.#flush(), this.#o.batchMs);
        }),
    };
  }

  /** From now on every save is written at the next turn, and so is what waits: the watches stop. */
  hurry(): void {
    this.#hurry = true;
    if (this.#pending.length > 0) this.#immediate ??= setImmediate(() => this.#flush());
  }

  #flush(): void {
    clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const { redis, keys, cluster, watcherId, fingerprint } = this.#o;
    const keyList = [keys.clusterLease(cluster), keys.clusterResume(cluster)];
    const args: string[] = [watcherId];
    for (const { scope, set, del, rv } of batch) {
      keyList.push(keys.clusterObjects(cluster, scope));
      args.push(scope, JSON.stringify({ rv, fingerprint }), String(set.size), String(del.size));
      for (const [uid, k] of set) {
        const record = [k.rv, k.namespace ?? "", k.name, k.kind];
        if (k.sections !== undefined) record.push(k.sections);
        args.push(uid, JSON.stringify(record));
      }
      args.push(...del);
    }
    runSave(redis, keyList, args).then(
      (ok) => {
        const err = ok === 1 ? undefined : new LeaseLostError(cluster);
        for (const p of batch) err ? p.done.reject(err) : p.done.resolve();
      },
      (err: unknown) => {
        for (const p of batch) p.done.reject(err as Error);
      },
    );
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
