import type { Redis } from "ioredis";
import type { z } from "zod";
import type { ChangeNotice } from "./change-notice.js";
import { ConflictError, CorruptDataError, NotFoundError } from "./errors.js";
import { type RedisKeys, redisKeys } from "./keys.js";
import {
  type ResourceStatus,
  ResourceStatusSchema,
  type StoredCluster,
  StoredClusterSchema,
  type StoredServer,
  StoredServerSchema,
} from "./models.js";

// Each script writes the record, its index and the change notice in one atomic step, so a reader
// never sees an index entry without a record, and nobody hears of a change that did not happen.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;
const REPLACE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;
const DELETE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1], unpack(KEYS, 3))
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;

type Kind = ChangeNotice["kind"];

interface KindSpec<T> {
  label: string;
  index: string;
  record: (name: string) => string;
  /** Keys removed with the record: status, and for servers their delivery log and dead letters. */
  owned: (name: string) => string[];
  schema: z.ZodType<T>;
}

/** Clusters and servers as stored in Redis: the one place that reads and writes them. */
export class Registry {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly #kinds: { cluster: KindSpec<StoredCluster>; server: KindSpec<StoredServer> };

  constructor(options: { redis: Redis; prefix: string }) {
    this.redis = options.redis;
    this.keys = redisKeys(options.prefix);
    const k = this.keys;
    this.#kinds = {
      cluster: {
        label: "cluster",
        index: k.clusters,
        record: k.cluster,
        owned: (n) => [k.clusterStatus(n)],
        schema: StoredClusterSchema,
      },
      server: {
        label: "server",
        index: k.servers,
        record: k.server,
        owned: (n) => [k.serverStatus(n), k.deadLetters(n), k.deliveries(n)],
        schema: StoredServerSchema,
      },
    };
  }

  async #write(script: string, kind: Kind, name: string, op: ChangeNotice["op"], json: string): Promise<boolean> {
    const spec = this.#kinds[kind];
    const notice = JSON.stringify({ kind, name, op } satisfies ChangeNotice);
    const keys = [spec.record(name), spec.index, ...spec.owned(name)];
    const done = await this.redis.eval(script, keys.length, ...keys, json, name, this.keys.changes, notice);
    return done === 1;
  }

  async #get<T>(kind: Kind, name: string): Promise<T | undefined> {
    const spec = this.#kinds[kind] as unknown as KindSpec<T>;
    const key = spec.record(name);
    const text = await this.redis.get(key);
    return text === null ? undefined : decode(spec.schema, key, text);
  }

  async #list<T>(kind: Kind): Promise<T[]> {
    const spec = this.#kinds[kind] as unknown as KindSpec<T>;
    const names = (await this.redis.smembers(spec.index)).sort();
    if (names.length === 0) return [];
    const keys = names.map(spec.record);
    const texts = await this.redis.mget(keys);
    const out: T[] = [];
    texts.forEach((text, i) => {
      // A name whose record vanished between SMEMBERS and MGET was deleted meanwhile.
      if (text !== null) out.push(decode(spec.schema, keys[i] as string, text));
    });
    return out;
  }

  async createCluster(c: StoredCluster): Promise<void> {
    if (!(await this.#write(CREATE, "cluster", c.name, "created", JSON.stringify(c))))
      throw new ConflictError("cluster", c.name);
  }
  async replaceCluster(c: StoredCluster): Promise<void> {
    if (!(await this.#write(REPLACE, "cluster", c.name, "updated", JSON.stringify(c))))
      throw new NotFoundError("cluster", c.name);
  }
  async deleteCluster(name: string): Promise<void> {
    if (!(await this.#write(DELETE, "cluster", name, "deleted", ""))) throw new NotFoundError("cluster", name);
  }
  getCluster(name: string): Promise<StoredCluster | undefined> {
    return this.#get("cluster", name);
  }
  listClusters(): Promise<StoredCluster[]> {
    return this.#list("cluster");
  }

  async createServer(s: StoredServer): Promise<void> {
    if (!(await this.#write(CREATE, "server", s.name, "created", JSON.stringify(s))))
      throw new ConflictError("server", s.name);
  }
  async replaceServer(s: StoredServer): Promise<void> {
    if (!(await this.#write(REPLACE, "server", s.name, "updated", JSON.stringify(s))))
      throw new NotFoundError("server", s.name);
  }
  async deleteServer(name: string): Promise<void> {
    if (!(await this.#write(DELETE, "server", name, "deleted", ""))) throw new NotFoundError("server", name);
  }
  getServer(name: string): Promise<StoredServer | undefined> {
    return this.#get("server", name);
  }
  listServers(): Promise<StoredServer[]> {
    return this.#list("server");
  }

  /** Status of each watched resource of a cluster, as its watcher last wrote it. */
  async clusterStatus(name: string): Promise<ResourceStatus[]> {
    const key = this.keys.clusterStatus(name);
    const all = await this.redis.hgetall(key);
    return Object.keys(all)
      .sort()
      .map((field) => decode(ResourceStatusSchema, `${key}#${field}`, all[field] as string));
  }

  async setResourceStatus(cluster: string, status: ResourceStatus): Promise<void> {
    await this.redis.hset(this.keys.clusterStatus(cluster), status.resource, JSON.stringify(status));
  }
}

function decode<T>(schema: z.ZodType<T>, key: string, text: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CorruptDataError(key, "not JSON");
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new CorruptDataError(key, result.error.issues[0]?.message ?? "schema mismatch");
  return result.data;
}
