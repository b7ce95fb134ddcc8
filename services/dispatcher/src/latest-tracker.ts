import type { Redis, RedisKeys } from "@mcic/core";

// Resource versions compare as numbers when both are (etcd's are); otherwise only equality counts.
const NEWER = `local function newer(a, b)
  local x, y = tonumber(a), tonumber(b)
  if x and y then return x > y end
  return a ~= b
end
`;
// Records that `rv` is bound for the server (a retry waits for it), unless a newer one is.
const MARK = `${NEWER}
local cur = redis.call('GET', KEYS[1])
if (not cur) or newer(ARGV[1], cur) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1`;
// After `rv` reached the server: forget it if it was the newest, or make it the newest.
const DELIVERED = `${NEWER}
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cur == ARGV[1] then redis.call('DEL', KEYS[1]) return 0 end
if newer(ARGV[1], cur) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1`;
// 1 when a newer event of the object is bound for or reached the server: `rv` is superseded.
const SUPERSEDED = `${NEWER}
local cur = redis.call('GET', KEYS[1])
if cur and newer(cur, ARGV[1]) then return 1 end
return 0`;

/**
 * Per server and object, the newest resourceVersion still in play while a retry exists, so a
 * retry that comes due after a newer event of the same object is dropped (superseded) instead of
 * delivering stale state after fresh state. Keys expire with the longest retry horizon.
 */
export class LatestTracker {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #ttlSeconds: number;

  constructor(redis: Redis, keys: RedisKeys, ttlSeconds: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#ttlSeconds = ttlSeconds;
  }

  /** Servers known to have had retries lately, here or (from their status) on any replica. */
  #withRetries = new Map<string, number>();

  /**
   * False when no retry can be waiting for the server, so a delivery need not touch Redis. Known
   * locally at once when this replica parks one, and from the servers' `pending` status (written by
   * every replica) within a second.
   */
  mayHaveRetries(server: string): boolean {
    return (this.#withRetries.get(server) ?? 0) > Date.now();
  }

  /** Reads which servers have retries waiting; called every second. */
  async refresh(servers: string[]): Promise<void> {
    if (servers.length === 0) return;
    const pending = await Promise.all(servers.map((s) => this.#redis.hget(this.#keys.serverStatus(s), "pending")));
    servers.forEach((s, i) => {
      if (Number(pending[i] ?? 0) > 0) this.#note(s);
    });
  }

  #note(server: string): void {
    // Remembered a while past the last sighting: a retry parked now comes due within the schedule.
    this.#withRetries.set(server, Date.now() + 60_000);
  }

  async markPending(server: string, uid: string, rv: string): Promise<void> {
    this.#note(server);
    await this.#redis.eval(MARK, 1, this.#keys.serverLatest(server, uid), rv, this.#ttlSeconds);
  }

  /** Called after a delivery; cheap when no retry of the object exists (one GET). */
  async delivered(server: string, uid: string, rv: string): Promise<void> {
    await this.#redis.eval(DELIVERED, 1, this.#keys.serverLatest(server, uid), rv, this.#ttlSeconds);
  }

  async superseded(server: string, uid: string, rv: string): Promise<boolean> {
    return (await this.#redis.eval(SUPERSEDED, 1, this.#keys.serverLatest(server, uid), rv)) === 1;
  }
}

// Claim the right to send `rv` of an object to a server now: 0 = go, 1 = superseded (a newer
// version was claimed, or this one was delivered already), 2 = wait (a version is in flight).
const CLAIM = `${NEWER}
local cur = redis.call('HMGET', KEYS[1], 'rv', 'state')
if cur[1] then
  if newer(cur[1], ARGV[1]) then return 1 end
  if cur[2] == 'inflight' then return 2 end
  if cur[1] == ARGV[1] and cur[2] == 'delivered' then return 1 end
end
redis.call('HSET', KEYS[1], 'rv', ARGV[1], 'state', 'inflight')
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 0`;
// Ends a claim: delivered, or failed (its retry may claim the same version again).
const RELEASE = `
if redis.call('HGET', KEYS[1], 'rv') == ARGV[1] then redis.call('HSET', KEYS[1], 'state', ARGV[2]) end
return 1`;

export type Claim = "go" | "superseded";

/**
 * Order across dispatcher replicas. One replica keeps an object's events in order by itself; when
 * several share the stream, consecutive versions can land on different replicas, so each send is
 * claimed in Redis first: a version waits while an older one is in flight elsewhere, and is
 * skipped (superseded) when a newer one already went out. Used only while replicas > 1.
 */
export class OrderGuard {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #maxWaitMs: number;

  constructor(redis: Redis, keys: RedisKeys, maxWaitMs: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#maxWaitMs = maxWaitMs;
  }

  #key(server: string, uid: string): string {
    return `${this.#keys.serverLatest(server, uid)}:order`;
  }

  async claim(server: string, uid: string, rv: string): Promise<Claim> {
    const deadline = Date.now() + this.#maxWaitMs;
    for (;;) {
      const r = await this.#redis.eval(CLAIM, 1, this.#key(server, uid), rv, 600);
      if (r === 0) return "go";
      if (r === 1) return "superseded";
      // The replica sending the other version may have died mid-send: do not wait for it forever.
      if (Date.now() > deadline) {
        await this.#redis.hset(this.#key(server, uid), "state", "failed");
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async release(server: string, uid: string, rv: string, delivered: boolean): Promise<void> {
    await this.#redis.eval(RELEASE, 1, this.#key(server, uid), rv, delivered ? "delivered" : "failed");
  }
}
