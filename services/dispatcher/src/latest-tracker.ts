import type { Redis, RedisKeys } from "@mcic/core";
import { NEWER_LUA } from "./newer-lua.js";

// Records that `rv` is bound for the server (a retry waits for it), unless a newer one is.
const MARK = `${NEWER_LUA}
local cur = redis.call('GET', KEYS[1])
if (not cur) or newer(ARGV[1], cur) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1`;
// After `rv` reached the server: forget it if it was the newest, or make it the newest.
const DELIVERED = `${NEWER_LUA}
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cur == ARGV[1] then redis.call('DEL', KEYS[1]) return 0 end
if newer(ARGV[1], cur) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1`;
// 1 when a newer event of the object is bound for or reached the server: `rv` is superseded.
const SUPERSEDED = `${NEWER_LUA}
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
   * locally at once when this replica parks one, and from the durable queues' counts (which any
   * replica's parks fill) within a second.
   */
  mayHaveRetries(server: string): boolean {
    return (this.#withRetries.get(server) ?? 0) > Date.now();
  }

  /** Notes the servers whose durable queue holds deliveries (DeliveryBacklog's counts, every second). */
  noteQueued(counts: ReadonlyMap<string, number>): void {
    for (const [server, n] of counts) if (n > 0) this.#note(server);
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
