import {
  type Logger,
  type Redis,
  type RedisKeys,
  SERVER_STATUS_FIELDS,
  deliveriesStreamName,
  deliveriesSubjectWildcard,
} from "@mcic/core";
import type { JetStreamManager } from "@nats-io/jetstream";

// Sets the server's `pending` unless the server is gone (its status must not come back to life).
const SET_PENDING = `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
return 0`;

/** Every this many refreshes, every server's count is written again, changed or not. */
const REWRITE_EVERY = 30;

export interface DeliveryBacklogOptions {
  jsm: JetStreamManager;
  redis: Redis;
  keys: RedisKeys;
  prefix: string;
  /** Every registered server this replica knows (receiving or disabled): their counts are written. */
  servers: () => Iterable<string>;
  logger: Logger;
}

/**
 * A server's `pending` is what its durable queue holds: the messages on its subject of the
 * deliveries stream. The stream is a work queue, so an acked delivery leaves it; reading the count
 * from JetStream, instead of adding and subtracting as deliveries come and go, stays exact when a
 * replica is killed between a publish and its bookkeeping, or a redelivered event parks a
 * delivery JetStream already holds (the duplicate is dropped; a counter would have counted it).
 */
export class DeliveryBacklog {
  readonly #o: DeliveryBacklogOptions;
  readonly #stream: string;
  readonly #subjectPrefix: string;
  #written = new Map<string, number>();
  #refreshes = 0;

  constructor(options: DeliveryBacklogOptions) {
    this.#o = options;
    this.#stream = deliveriesStreamName(options.prefix);
    this.#subjectPrefix = deliveriesSubjectWildcard(options.prefix).slice(0, -1);
  }

  /** Messages waiting per server, read from the stream (servers with none are absent). */
  async counts(): Promise<Map<string, number>> {
    const info = await this.#o.jsm.streams.info(this.#stream, { subjects_filter: `${this.#subjectPrefix}>` });
    const counts = new Map<string, number>();
    for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
      if (subject.startsWith(this.#subjectPrefix)) counts.set(subject.slice(this.#subjectPrefix.length), n);
    }
    return counts;
  }

  /**
   * Reads the counts and writes those that changed into the servers' status; returns the count of
   * every server `servers()` named (0 for an empty queue).
   */
  async refresh(): Promise<Map<string, number>> {
    const { redis, keys } = this.#o;
    const counts = await this.counts();
    const all = this.#refreshes++ % REWRITE_EVERY === 0;
    const pipeline = redis.pipeline();
    const written = new Map<string, number>();
    for (const server of this.#o.servers()) {
      const count = counts.get(server) ?? 0;
      written.set(server, count);
      if (!all && this.#written.get(server) === count) continue;
      pipeline.eval(
        SET_PENDING,
        2,
        keys.server(server),
        keys.serverStatus(server),
        SERVER_STATUS_FIELDS.pending,
        count,
      );
    }
    if (pipeline.length > 0) {
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      // Written again next time: nothing is remembered as written from a failed pipeline.
      if (failed) throw failed[0] as Error;
    }
    this.#written = written;
    return written;
  }
}
