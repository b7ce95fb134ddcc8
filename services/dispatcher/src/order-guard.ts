import type { Redis, RedisKeys } from "@mcic/core";
import { NEWER_LUA } from "./newer-lua.js";

// Claim the right to send `rv` of an object to a server now: 0 = go, 1 = superseded (a newer
// version was claimed, or this one was delivered already), 2 = wait (a version is in flight).
const CLAIM = `${NEWER_LUA}
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
