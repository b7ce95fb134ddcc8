import type { Redis } from "ioredis";
import type { RedisKeys } from "./keys.js";
import { exec } from "./registry-codec.js";

/** A dispatcher replica whose last heartbeat is older than this is taken for gone. */
export const DISPATCHER_HEARTBEAT_TTL_MS = 5000;

// Times come from Redis (TIME), not from each host, so replicas and the API agree on what
// "fresh" means however far their clocks drift apart.
const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS: heartbeats, applied. ARGV: id, ttl ms, applied revision or "". The revision is written
// again with every beat, so a replica that paused past the TTL (and was pruned) is whole again.
const BEAT = `${NOW_MS}
redis.call('ZADD', KEYS[1], now, ARGV[1])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) end
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
return redis.call('ZCARD', KEYS[1])`;

// KEYS: heartbeats, applied. ARGV: ttl ms, revision. Live replicas that have not applied it.
const LAGGING = `${NOW_MS}
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')) do
  local applied = redis.call('HGET', KEYS[2], id)
  if not applied or tonumber(applied) < tonumber(ARGV[2]) then out[#out + 1] = id end
end
return out`;

/** Pauses between two looks while waiting: a reload takes milliseconds, so start short. */
const POLL_MS = [2, 5, 10, 20, 50];

/**
 * Which dispatcher replicas are alive (heartbeats) and which revision of the server registrations
 * (`Registry.serversRevision`) each one's server index reflects. Dispatchers write it; the API
 * reads it to answer a server change only once every live dispatcher applied it.
 */
export class DispatcherPresence {
  readonly #redis: Redis;
  readonly #keys: Pick<RedisKeys, "dispatchers" | "dispatchersApplied">;
  readonly #ttlMs: number;

  constructor(
    redis: Redis,
    keys: Pick<RedisKeys, "dispatchers" | "dispatchersApplied">,
    ttlMs = DISPATCHER_HEARTBEAT_TTL_MS,
  ) {
    this.#redis = redis;
    this.#keys = keys;
    this.#ttlMs = ttlMs;
  }

  /** Marks a replica alive (with the revision it applied, once it has one); returns how many are alive. */
  async beat(id: string, applied?: number): Promise<number> {
    const { dispatchers, dispatchersApplied } = this.#keys;
    const count = await this.#redis.eval(
      BEAT,
      2,
      dispatchers,
      dispatchersApplied,
      id,
      String(this.#ttlMs),
      applied === undefined ? "" : String(applied),
    );
    return Number(count);
  }

  /** Records that a replica's server index now reflects every registration write up to `revision`. */
  async applied(id: string, revision: number): Promise<void> {
    await this.#redis.hset(this.#keys.dispatchersApplied, id, String(revision));
  }

  /** A replica going away: nobody waits for it any more. */
  async leave(id: string): Promise<void> {
    const { dispatchers, dispatchersApplied } = this.#keys;
    await exec(this.#redis.multi().zrem(dispatchers, id).hdel(dispatchersApplied, id));
  }

  /** Live replicas that have not applied `revision` yet. */
  async lagging(revision: number): Promise<string[]> {
    const { dispatchers, dispatchersApplied } = this.#keys;
    const ids = await this.#redis.eval(
      LAGGING,
      2,
      dispatchers,
      dispatchersApplied,
      String(this.#ttlMs),
      String(revision),
    );
    return ids as string[];
  }

  /**
   * Waits until every live replica applied `revision`, or `timeoutMs` passed; returns the replicas
   * still lagging then (empty: all applied). A replica that stops beating stops being waited for.
   */
  async waitUntilApplied(revision: number, timeoutMs: number): Promise<string[]> {
    const deadline = performance.now() + timeoutMs;
    for (let round = 0; ; round++) {
      const lagging = await this.lagging(revision);
      const left = deadline - performance.now();
      if (lagging.length === 0 || left <= 0) return lagging;
      const pause = POLL_MS[Math.min(round, POLL_MS.length - 1)] as number;
      await new Promise((r) => setTimeout(r, Math.min(pause, left)));
    }
  }
}
