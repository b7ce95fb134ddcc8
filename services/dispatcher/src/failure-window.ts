import { type Redis, type RedisKeys, SERVER_STATUS_FIELDS, type StoredServer } from "@mcic/core";

// Starts the window at the first failure since the last success (the recorder clears the field on
// a success) and answers when it started.
const FAILED = `
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])`;
// Disables the server unless a dispatcher already did: 1 for the one replica that disabled it.
const DISABLE = `
local reason = redis.call('HGET', KEYS[1], ARGV[1])
if reason and reason ~= '' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
return 1`;

/**
 * SPEC: "a server failing continuously for `disableAfterSeconds` is disabled". Continuously means
 * no success since the first failure (`failingSince` in the server's status, shared by every
 * replica); the check runs on each failed attempt, so a server is disabled by the first failure
 * after its window ran out.
 */
export class FailureWindow {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #now: () => number;

  constructor(redis: Redis, keys: RedisKeys, now: () => number = Date.now) {
    this.#redis = redis;
    this.#keys = keys;
    this.#now = now;
  }

  /**
   * After a failed attempt: the reason the server was disabled with when its window ran out (to
   * this call alone, when several replicas see it at once), else undefined.
   */
  async failed(server: Pick<StoredServer, "name" | "disableAfterSeconds">, error: string): Promise<string | undefined> {
    const key = this.#keys.serverStatus(server.name);
    const f = SERVER_STATUS_FIELDS;
    const now = this.#now();
    const at = new Date(now).toISOString();
    const since = String(await this.#redis.eval(FAILED, 1, key, f.failingSince, at));
    const started = Date.parse(since);
    // An unreadable start (written by hand) restarts the window rather than disabling at once.
    if (Number.isNaN(started)) {
      await this.#redis.hset(key, f.failingSince, at);
      return undefined;
    }
    if (now - started < server.disableAfterSeconds * 1000) return undefined;
    const reason = `failing since ${since}: ${error}`;
    const disabled = await this.#redis.eval(DISABLE, 1, key, f.disabledReason, reason, f.disabledAt, at);
    return disabled === 1 ? reason : undefined;
  }
}
