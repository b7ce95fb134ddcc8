import { z } from "zod";
import type { Redis, RedisKeys } from "@mcic/core";
import type { KnownObject } from "./resource-watch.js";

// Fenced write: only the lease holder may move a cluster's resume point, so a replica that lost
// its lease (paused, partitioned) cannot overwrite what the new owner wrote.
const SAVE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local nset = tonumber(ARGV[4])
for i = 0, nset - 1 do redis.call('HSET', KEYS[3], ARGV[5 + i * 2], ARGV[6 + i * 2]) end
for i = 5 + nset * 2, #ARGV do redis.call('HDEL', KEYS[3], ARGV[i]) end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1`;

const ResumePoint = z.object({ rv: z.string(), fingerprint: z.string() });
const Known = z.tuple([z.string(), z.string(), z.string(), z.string()]);

type SaveCommand = (...keysThenArgs: string[]) => Promise<unknown>;
const defined = new WeakSet<Redis>();

/** The save script as an ioredis command: sent by SHA (EVALSHA), not as source on every call. */
function saveScript(redis: Redis): SaveCommand {
  if (!defined.has(redis)) {
    redis.defineCommand("mcicSaveResume", { numberOfKeys: 3, lua: SAVE });
    defined.add(redis);
  }
  const command = (redis as unknown as { mcicSaveResume: SaveCommand }).mcicSaveResume;
  return command.bind(redis);
}

export class LeaseLostError extends Error {
  constructor(cluster: string) {
    super(`lease on cluster ${cluster} is no longer ours`);
  }
}

export interface ResumeState {
  rv?: string;
  known: Map<string, KnownObject>;
}

export interface ScopeStore {
  load(): Promise<ResumeState>;
  save(set: Map<string, KnownObject>, del: Set<string>, rv: string): Promise<void>;
}

/**
 * Where each watch scope (cluster, resource, namespace) resumes: the last resourceVersion whose
 * events are all stored in JetStream, and uid → (rv, namespace, name, kind) of every object it
 * published. `fingerprint` (the cluster's API URL) discards the state when the registration now
 * points at another cluster, whose resource versions mean nothing here.
 */
export function createScopeStore(options: {
  redis: Redis;
  keys: RedisKeys;
  cluster: string;
  scope: string;
  watcherId: string;
  fingerprint: string;
}): ScopeStore {
  const { redis, keys, cluster, scope, watcherId, fingerprint } = options;
  const objectsKey = keys.clusterObjects(cluster, scope);
  return {
    async load() {
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
        const [rv, namespace, name, kind] = entry.data;
        known.set(uid, namespace ? { rv, namespace, name, kind } : { rv, name, kind });
      }
      return { rv: parsed.data.rv, known };
    },
    async save(set, del, rv) {
      const args: string[] = [watcherId, scope, JSON.stringify({ rv, fingerprint }), String(set.size)];
      for (const [uid, k] of set) args.push(uid, JSON.stringify([k.rv, k.namespace ?? "", k.name, k.kind]));
      args.push(...del);
      const ok = await saveScript(redis)(keys.clusterLease(cluster), keys.clusterResume(cluster), objectsKey, ...args);
      if (ok !== 1) throw new LeaseLostError(cluster);
    },
  };
}

/** Removes every resume point and object table of a cluster (deleted, or watched no more). */
export async function clearClusterState(
  redis: Redis,
  keys: RedisKeys,
  cluster: string,
  scopes?: string[],
): Promise<void> {
  const all = scopes ?? (await redis.hkeys(keys.clusterResume(cluster)));
  if (all.length === 0) return;
  await redis
    .multi()
    .hdel(keys.clusterResume(cluster), ...all)
    .del(...all.map((s) => keys.clusterObjects(cluster, s)))
    .exec();
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
