import { McicError, type Redis, type RedisKeys } from "@mcic/core";

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * The fence is down: the last renewal of the lease was answered too long ago for us to be sure we
 * still hold it, so nothing may be published now. Not an end: the next renewal either confirms
 * the lease (Redis kept it; nobody else published meanwhile) or fails, and then the supervisor
 * stops the cluster's watches.
 */
export class LeaseUnconfirmedError extends McicError {
  constructor(cluster: string) {
    super(
      "lease_unconfirmed",
      `lease on cluster ${cluster} not confirmed in time (renewal late); publishing waits for the next renewal`,
    );
  }
}

export interface LeaseTableOptions {
  redis: Redis;
  keys: RedisKeys;
  watcherId: string;
  ttlMs: number;
  now?: () => number;
}

/**
 * Cluster ownership in Redis: one lease key per cluster holding the owner's id with a TTL, and a
 * heartbeat set of live replicas that rendezvous hashing spreads clusters over.
 */
export class LeaseTable {
  readonly #o: Required<LeaseTableOptions>;
  /** Local deadline of each lease we hold: past it we must assume another replica took over. */
  readonly #validUntil = new Map<string, number>();

  constructor(options: LeaseTableOptions) {
    this.#o = { now: () => Date.now(), ...options };
  }

  get watcherId(): string {
    return this.#o.watcherId;
  }

  /** Marks this replica alive and forgets replicas silent for longer than the TTL. */
  async heartbeat(): Promise<string[]> {
    const { redis, keys, watcherId, ttlMs } = this.#o;
    const now = this.#o.now();
    const [, , live] = (await redis
      .multi()
      .zadd(keys.watchers, now, watcherId)
      .zremrangebyscore(keys.watchers, "-inf", now - ttlMs)
      .zrange(keys.watchers, 0, -1)
      .exec()) as [unknown, unknown, [Error | null, string[]]];
    return live[1];
  }

  /** Leaves the replica set at once, so the others rebalance without waiting for the TTL. */
  async leave(): Promise<void> {
    await this.#o.redis.zrem(this.#o.keys.watchers, this.#o.watcherId);
  }

  async acquire(cluster: string): Promise<boolean> {
    const started = this.#o.now();
    const ok = await this.#o.redis.set(
      this.#o.keys.clusterLease(cluster),
      this.#o.watcherId,
      "PX",
      this.#o.ttlMs,
      "NX",
    );
    if (ok === "OK") this.#validUntil.set(cluster, started + this.#o.ttlMs);
    return ok === "OK";
  }

  /** Extends a lease we hold; false when it expired or another replica holds it now. */
  async renew(cluster: string): Promise<boolean> {
    const started = this.#o.now();
    const ok = await this.#o.redis.eval(RENEW, 1, this.#o.keys.clusterLease(cluster), this.#o.watcherId, this.#o.ttlMs);
    if (ok === 1) this.#validUntil.set(cluster, started + this.#o.ttlMs);
    else this.#validUntil.delete(cluster);
    return ok === 1;
  }

  async release(cluster: string): Promise<void> {
    this.#validUntil.delete(cluster);
    await this.#o.redis.eval(RELEASE, 1, this.#o.keys.clusterLease(cluster), this.#o.watcherId);
  }

  async holder(cluster: string): Promise<string | null> {
    return this.#o.redis.get(this.#o.keys.clusterLease(cluster));
  }

  /**
   * The fence: true while our lease cannot have expired. Measured from when the last renewal was
   * sent, so Redis latency only makes us stop early, never late.
   */
  holds(cluster: string): boolean {
    return (this.#validUntil.get(cluster) ?? 0) > this.#o.now();
  }
}
