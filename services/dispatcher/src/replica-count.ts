import type { Logger, Redis } from "@mcic/core";

/**
 * How many dispatcher replicas are alive, from a heartbeat sorted set in Redis. The order guard
 * costs Redis round trips, so it is switched on only while more than one replica runs.
 */
export class ReplicaCount {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #id: string;
  readonly #ttlMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #count = 1;

  constructor(options: { redis: Redis; key: string; id: string; ttlMs: number; logger: Logger }) {
    this.#redis = options.redis;
    this.#key = options.key;
    this.#id = options.id;
    this.#ttlMs = options.ttlMs;
    this.#logger = options.logger;
  }

  get many(): boolean {
    return this.#count > 1;
  }

  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(
      () => {
        this.#beat().catch((err: unknown) =>
          this.#logger.warn({ err: (err as Error).message }, "replica heartbeat failed"),
        );
      },
      Math.max(200, Math.floor(this.#ttlMs / 3)),
    );
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    const now = Date.now();
    const [, , count] = (await this.#redis
      .multi()
      .zadd(this.#key, now, this.#id)
      .zremrangebyscore(this.#key, "-inf", now - this.#ttlMs)
      .zcard(this.#key)
      .exec()) as [unknown, unknown, [Error | null, number]];
    this.#count = count[1];
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#redis.zrem(this.#key, this.#id);
  }
}
