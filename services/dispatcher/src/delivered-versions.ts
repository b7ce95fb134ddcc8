import type { Redis, RedisKeys } from "@mcic/core";
import { NEWER_LUA } from "./newer-lua.js";

type Batch = ReturnType<Redis["multi"]>;

/** How long the newest delivered version of an object is remembered after its last delivery. */
export const DELIVERED_TTL_SECONDS = 30 * 24 * 3600;

// Raises each key (one object of one server) to its version unless it holds a newer one; ARGV[1]
// is the expiry, ARGV[i + 1] the version for KEYS[i].
const RAISE = `${NEWER_LUA}
for i = 1, #KEYS do
  local cur = redis.call('GET', KEYS[i])
  if (not cur) or newer(ARGV[i + 1], cur) then
    redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ARGV[1])
  else
    redis.call('EXPIRE', KEYS[i], ARGV[1])
  end
end
return 1`;

/**
 * True when resourceVersion `a` is newer than `b`. Versions compare only when both are integers
 * (etcd's are); Kubernetes calls them opaque, so two others are never ordered.
 */
export function isNewer(a: string, b: string): boolean {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) > BigInt(b);
}

/**
 * Per server and object, the newest resourceVersion the server took (2xx), so that a replayed dead
 * letter older than it is recorded `superseded` instead of sending the receiver back in time. The
 * recorder writes the versions with its batch (no extra round trip per delivery).
 */
export class DeliveredVersions {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /** Adds the write of one server's delivered versions (uid → rv) to a batch. */
  write(multi: Batch, server: string, versions: Map<string, string>): void {
    const uids = [...versions.keys()];
    multi.eval(
      RAISE,
      uids.length,
      ...uids.map((uid) => this.#keys.serverDelivered(server, uid)),
      DELIVERED_TTL_SECONDS,
      ...uids.map((uid) => versions.get(uid) as string),
    );
  }

  /** The version of the object the server already took that is newer than `rv`, if there is one. */
  async newerThan(server: string, uid: string, rv: string): Promise<string | undefined> {
    const delivered = await this.#redis.get(this.#keys.serverDelivered(server, uid));
    return delivered !== null && isNewer(delivered, rv) ? delivered : undefined;
  }
}
