import type { Redis } from "ioredis";
import type { z } from "zod";
import { type ChangeNotice, encodeChangeNotice, publishChangeNotice } from "./change-notice.js";
import { type DeadLetter, DeadLetterSchema, type DeliveryRecord, DeliveryRecordSchema } from "./delivery.js";
import { type DeliveryRate, readDeliveryRates } from "./delivery-rate.js";
import { ConflictError, NotFoundError, UpdateConflictError } from "./errors.js";
import { type RedisKeys, redisKeys } from "./keys.js";
import {
  type ResourceStatus,
  ResourceStatusSchema,
  type StoredCluster,
  StoredClusterSchema,
  type StoredServer,
  StoredServerSchema,
} from "./models.js";
import {
  CREATE,
  DELETE,
  REPLACE,
  REPLACE_AND_ENABLE,
  REPLACE_IF_UNCHANGED,
  SETTLE_REPLAY,
} from "./registry-scripts.js";
import { type ListedEntries, decode, exec, parseEntries } from "./registry-codec.js";
import { ENABLE_CLEARS, SERVER_STATUS_FIELDS, type ServerStatus, parseServerStatus } from "./server-status.js";
import { TimeSlicer } from "./time-slicer.js";

/** Status reads per round trip when listing why servers were disabled. */
const REASONS_BATCH = 500;

type Kind = ChangeNotice["kind"];

/** How often an update is tried again when another writer changed the record in between. */
const UPDATE_ATTEMPTS = 5;

interface KindSpec<T> {
  label: string;
  index: string;
  revision: string;
  record: (name: string) => string;
  /** Keys removed with the record: status, and for servers their delivery log and dead letters. */
  owned: (name: string) => string[];
  schema: z.ZodType<T>;
}

/** Clusters and servers as stored in Redis: the one place that reads and writes them. */
export class Registry {
  readonly #redis: Redis;
  readonly keys: RedisKeys;
  readonly #kinds: { cluster: KindSpec<StoredCluster>; server: KindSpec<StoredServer> };

  constructor(options: { redis: Redis; prefix: string }) {
    this.#redis = options.redis;
    this.keys = redisKeys(options.prefix);
    const k = this.keys;
    this.#kinds = {
      cluster: {
        label: "cluster",
        index: k.clusters,
        revision: k.clustersRevision,
        record: k.cluster,
        owned: (n) => [k.clusterStatus(n)],
        schema: StoredClusterSchema,
      },
      server: {
        label: "server",
        index: k.servers,
        revision: k.serversRevision,
        record: k.server,
        owned: (n) => [k.serverStatus(n), k.deadLetters(n), k.deliveries(n), k.serverSnapshot(n)],
        schema: StoredServerSchema,
      },
    };
  }

  async #write(
    script: string,
    kind: Kind,
    name: string,
    op: ChangeNotice["op"],
    json: string,
    ...extra: string[]
  ): Promise<boolean> {
    const spec = this.#kinds[kind];
    const notice = encodeChangeNotice({ kind, name, op });
    const keys = [spec.record(name), spec.index, spec.revision, ...spec.owned(name)];
    const done = await this.#redis.eval(script, keys.length, ...keys, json, name, this.keys.changes, notice, ...extra);
    return done === 1;
  }

  async #get<T>(kind: Kind, name: string): Promise<T | undefined> {
    const spec = this.#kinds[kind] as unknown as KindSpec<T>;
    const key = spec.record(name);
    const text = await this.#redis.get(key);
    return text === null ? undefined : decode(spec.schema, key, text);
  }

  /**
   * Read-modify-write of one record: `change` gets the stored value and returns the new one, or
   * undefined to leave it as it is. Written (with a change notice) only if nobody wrote the record
   * in between; otherwise read and tried again. Returns what was written, undefined if nothing.
   */
  async #update<T>(
    kind: Kind,
    name: string,
    change: (current: T) => T | undefined,
    clear: readonly string[] = [],
  ): Promise<T | undefined> {
    const spec = this.#kinds[kind] as unknown as KindSpec<T>;
    const key = spec.record(name);
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const text = await this.#redis.get(key);
      if (text === null) throw new NotFoundError(spec.label, name);
      const next = change(decode(spec.schema, key, text));
      if (next === undefined) return undefined;
      if (await this.#write(REPLACE_IF_UNCHANGED, kind, name, "updated", JSON.stringify(next), text, ...clear))
        return next;
    }
    throw new UpdateConflictError(spec.label, name);
  }

  /** The first `limit` entries of a list, or all of them. */
  async #head(key: string, limit: number | undefined): Promise<string[]> {
    if (limit === undefined) return this.#redis.lrange(key, 0, -1);
    return limit > 0 ? this.#redis.lrange(key, 0, limit - 1) : [];
  }

  async #list<T>(kind: Kind): Promise<T[]> {
    const spec = this.#kinds[kind] as unknown as KindSpec<T>;
    const names = (await this.#redis.smembers(spec.index)).sort();
    if (names.length === 0) return [];
    const keys = names.map(spec.record);
    const texts = await this.#redis.mget(keys);
    const out: T[] = [];
    // Validating 10,000 records takes hundreds of milliseconds: other events get a turn between slices.
    const slicer = new TimeSlicer();
    for (const [i, text] of texts.entries()) {
      // A name whose record vanished between SMEMBERS and MGET was deleted meanwhile.
      if (text !== null) out.push(decode(spec.schema, keys[i] as string, text));
      await slicer.maybeYield();
    }
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
  /** Changes a stored cluster atomically (see #update); NotFoundError when there is none. */
  updateCluster(
    name: string,
    change: (c: StoredCluster) => StoredCluster | undefined,
  ): Promise<StoredCluster | undefined> {
    return this.#update("cluster", name, change);
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
  /** Replaces a server and enables it again if a dispatcher disabled it (HTTP 410), in one step. */
  async replaceServerAndEnable(s: StoredServer): Promise<void> {
    const done = await this.#write(
      REPLACE_AND_ENABLE,
      "server",
      s.name,
      "updated",
      JSON.stringify(s),
      ...ENABLE_CLEARS,
    );
    if (!done) throw new NotFoundError("server", s.name);
  }
  /**
   * Changes a stored server atomically (see #update); NotFoundError when there is none. With
   * `enable`, a dispatcher's disabling and the failure window are cleared in the same step.
   */
  updateServer(
    name: string,
    change: (s: StoredServer) => StoredServer | undefined,
    options: { enable?: boolean } = {},
  ): Promise<StoredServer | undefined> {
    return this.#update("server", name, change, options.enable ? ENABLE_CLEARS : []);
  }
  getServer(name: string): Promise<StoredServer | undefined> {
    return this.#get("server", name);
  }
  listServers(): Promise<StoredServer[]> {
    return this.#list("server");
  }

  /** Count of server registration writes: read before `listServers`, every write up to it is listed. */
  async serversRevision(): Promise<number> {
    return Number((await this.#redis.get(this.keys.serversRevision)) ?? 0);
  }

  /** Names of the registered clusters, sorted. */
  async clusterNames(): Promise<string[]> {
    return (await this.#redis.smembers(this.keys.clusters)).sort();
  }

  /**
   * Tells followers of the change channel that something changed without a registration write
   * (a cluster handed to another watcher, a server disabled by a dispatcher).
   */
  announce(notice: ChangeNotice): Promise<void> {
    return publishChangeNotice(this.#redis, this.keys.changes, notice);
  }

  /** Delivery status of a server, as dispatchers, watchers and replays left it. */
  async serverStatus(name: string): Promise<ServerStatus> {
    const key = this.keys.serverStatus(name);
    return parseServerStatus(key, await this.#redis.hgetall(key));
  }

  /** Why each of these servers was disabled by a dispatcher; servers not disabled are left out. */
  async disabledReasons(names: string[]): Promise<Map<string, string>> {
    const field = SERVER_STATUS_FIELDS.disabledReason;
    const out = new Map<string, string>();
    // In batches: sending and answering 10,000 commands at once held the event loop for half a second.
    for (let start = 0; start < names.length; start += REASONS_BATCH) {
      const batch = names.slice(start, start + REASONS_BATCH);
      const reasons = await Promise.all(batch.map((n) => this.#redis.hget(this.keys.serverStatus(n), field)));
      batch.forEach((n, i) => {
        const reason = reasons[i];
        if (reason) out.set(n, reason);
      });
    }
    return out;
  }

  /** The latest delivery attempts to a server, newest first; all that are kept without `limit`. */
  async listDeliveries(server: string, limit?: number): Promise<ListedEntries<DeliveryRecord>> {
    return parseEntries(await this.#head(this.keys.deliveries(server), limit), DeliveryRecordSchema);
  }

  /** A server's dead letters, newest first; all of them without `limit`. */
  async listDeadLetters(server: string, limit?: number): Promise<ListedEntries<DeadLetter>> {
    return parseEntries(await this.#head(this.keys.deadLetters(server), limit), DeadLetterSchema);
  }

  /** How many dead letters are kept for a server. */
  countDeadLetters(server: string): Promise<number> {
    return this.#redis.llen(this.keys.deadLetters(server));
  }

  /**
   * Takes replayed dead letters (their exact texts) off a server's list and lowers its
   * `deadLetters`, in one step. Returns how many were taken off. (`pending` follows from the
   * durable queue the replay filled: the dispatcher counts it.)
   */
  async settleReplay(server: string, texts: string[]): Promise<number> {
    const removed = await this.#redis.eval(
      SETTLE_REPLAY,
      2,
      this.keys.deadLetters(server),
      this.keys.serverStatus(server),
      SERVER_STATUS_FIELDS.deadLetters,
      ...texts,
    );
    return Number(removed);
  }

  /** Forgets what the watchers kept of a deleted cluster: resume points, published objects, status. */
  async forgetClusterState(name: string): Promise<void> {
    const k = this.keys;
    const scopes = await this.#redis.hkeys(k.clusterResume(name));
    const multi = this.#redis.multi();
    if (scopes.length > 0) {
      multi.hdel(k.clusterResume(name), ...scopes).del(...scopes.map((s) => k.clusterObjects(name, s)));
    }
    await exec(multi.del(k.clusterStatus(name)));
  }

  /** Forgets the resume points and published objects of watch scopes a cluster no longer has. */
  async forgetClusterScopes(name: string, scopes: string[]): Promise<void> {
    if (scopes.length === 0) return;
    const k = this.keys;
    await exec(
      this.#redis
        .multi()
        .hdel(k.clusterResume(name), ...scopes)
        .del(...scopes.map((s) => k.clusterObjects(name, s))),
    );
  }

  /** Delivery attempts of each server over the last minute (delivery-rate.ts). */
  deliveryRates(servers: string[], nowMs: number): Promise<Map<string, DeliveryRate>> {
    return readDeliveryRates(this.#redis, this.keys, servers, nowMs);
  }

  /** Status of each watched resource of a cluster, as its watcher last wrote it. */
  async clusterStatus(name: string): Promise<ResourceStatus[]> {
    const key = this.keys.clusterStatus(name);
    const all = await this.#redis.hgetall(key);
    return Object.keys(all)
      .sort()
      .map((field) => decode(ResourceStatusSchema, `${key}#${field}`, all[field] as string));
  }

  async setResourceStatus(cluster: string, status: ResourceStatus): Promise<void> {
    await this.#redis.hset(this.keys.clusterStatus(cluster), status.resource, JSON.stringify(status));
  }
}
