import {
  DEAD_LETTER_LIMIT,
  DELIVERY_LOG_LIMIT,
  RATE_BUCKET_TTL_SECONDS,
  type DeadLetter,
  type DeliveryRecord,
  type Logger,
  type Redis,
  type RedisKeys,
  RedisWriteError,
  SERVER_STATUS_FIELDS,
  type ServerStatusField,
  rateBucket,
} from "@mcic/core";
import { DeliveredVersions, isNewer } from "./delivered-versions.js";
import type { DispatcherMetrics } from "./dispatcher-metrics.js";

interface Pending {
  records: string[];
  deadLetters: string[];
  /** Fields of the server status hash to set (names checked against the one list of them). */
  status: Partial<Record<ServerStatusField, string>>;
  /** Attempts per outcome and 5-second bucket ("ok:<bucket>", "failed:<bucket>"), for GET /stats. */
  rates: Map<string, number>;
  /** Per object (uid), the newest resourceVersion the server took in this batch. */
  delivered: Map<string, string>;
  /** A delivery succeeded: the failure window ends. */
  succeeded: boolean;
}

function emptyPending(): Pending {
  return {
    records: [],
    deadLetters: [],
    status: {},
    rates: new Map(),
    delivered: new Map(),
    succeeded: false,
  };
}

/**
 * Writes what happened to each delivery — the per-server attempt log, status fields, dead
 * letters — in batches: one Redis round trip per flush, not several per attempt.
 */
export class DeliveryRecorder {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #logger: Logger;
  readonly #metrics: DispatcherMetrics | undefined;
  readonly #versions: DeliveredVersions;
  #pending = new Map<string, Pending>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: { redis: Redis; keys: RedisKeys; logger: Logger; metrics?: DispatcherMetrics }) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#versions = new DeliveredVersions(options.redis, options.keys);
  }

  #for(server: string): Pending {
    let p = this.#pending.get(server);
    if (!p) {
      p = emptyPending();
      this.#pending.set(server, p);
    }
    // A failed write's error was logged and its dead letters' callers told: nothing to add here.
    this.#timer ??= setTimeout(() => void this.flush().catch(() => undefined), 20);
    return p;
  }

  record(server: string, record: DeliveryRecord): void {
    const p = this.#for(server);
    p.records.push(JSON.stringify(record));
    const counted = record.outcome !== "superseded" && record.outcome !== "dropped";
    if (record.outcome === "delivered") {
      p.status.lastSuccessAt = record.at;
      p.succeeded = true;
    } else if (counted) p.status.lastFailureAt = record.at;
    if (counted) {
      const key = `${record.outcome === "delivered" ? "ok" : "failed"}:${rateBucket(Date.now())}`;
      p.rates.set(key, (p.rates.get(key) ?? 0) + 1);
    }
    this.#metrics?.deliveries.inc({ server, outcome: record.outcome });
    if (record.attempt > 0 && record.status >= 0 && record.outcome !== "superseded" && record.outcome !== "dropped") {
      this.#metrics?.attemptDuration.observe({ server }, record.durationMs / 1000);
    }
  }

  deadLetter(server: string, entry: DeadLetter): void {
    this.#for(server).deadLetters.push(JSON.stringify(entry));
    this.#metrics?.deadLetters.inc({ server });
  }

  /** Remembers that the server took version `rv` of object `uid` (for replays: see DeliveredVersions). */
  delivered(server: string, uid: string, rv: string): void {
    const versions = this.#for(server).delivered;
    const known = versions.get(uid);
    if (known === undefined || !isNewer(known, rv)) versions.set(uid, rv);
  }

  /** Marks a server disabled (HTTP 410, failure window) with the reason shown in its status. */
  disable(server: string, reason: string, at: string): void {
    const status = this.#for(server).status;
    status.disabledReason = reason;
    status.disabledAt = at;
  }

  /** Writes everything recorded so far; resolves when it is in Redis. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = new Map();
    if (batch.size === 0) return this.#flushing;
    const k = this.#keys;
    const multi = this.#redis.multi();
    for (const [server, p] of batch) {
      if (p.records.length > 0) {
        multi.lpush(k.deliveries(server), ...p.records).ltrim(k.deliveries(server), 0, DELIVERY_LOG_LIMIT - 1);
      }
      if (p.deadLetters.length > 0) {
        multi
          .lpush(k.deadLetters(server), ...p.deadLetters)
          .ltrim(k.deadLetters(server), 0, DEAD_LETTER_LIMIT - 1)
          .hincrby(k.serverStatus(server), SERVER_STATUS_FIELDS.deadLetters, p.deadLetters.length);
      }
      if (Object.keys(p.status).length > 0) multi.hset(k.serverStatus(server), p.status);
      for (const [field, n] of p.rates) {
        const [outcome, bucket] = field.split(":") as ["ok" | "failed", string];
        const key = k.serverRate(server, outcome, Number(bucket));
        multi.incrby(key, n).expire(key, RATE_BUCKET_TTL_SECONDS);
      }
      if (p.succeeded) multi.hdel(k.serverStatus(server), SERVER_STATUS_FIELDS.failingSince);
      if (p.delivered.size > 0) this.#versions.write(multi, server, p.delivered);
    }
    // A write that failed (Redis failing over, say) must not lose a dead letter: its caller is told
    // and the message comes back to be dead-lettered again. The rest (log, status, pending) is kept
    // for the next write.
    const previous = this.#flushing.catch(() => undefined);
    this.#flushing = previous.then(() =>
      multi.exec().then(
        () => undefined,
        (err: unknown) => {
          this.#logger.error(
            { err: (err as Error).message },
            "writing delivery records failed; kept for the next write",
          );
          const lostDeadLetters = this.#requeue(batch);
          this.#timer ??= setTimeout(() => void this.flush().catch(() => undefined), 1000);
          if (lostDeadLetters > 0) throw new RedisWriteError(err);
        },
      ),
    );
    return this.#flushing;
  }

  /** Puts a batch that failed back in front of what was recorded since; returns its dead letters. */
  #requeue(batch: Map<string, Pending>): number {
    let deadLetters = 0;
    for (const [server, failed] of batch) {
      deadLetters += failed.deadLetters.length;
      const later = this.#pending.get(server);
      this.#pending.set(server, {
        records: [...failed.records, ...(later?.records ?? [])],
        deadLetters: later?.deadLetters ?? [],
        status: { ...failed.status, ...later?.status },
        rates: mergeCounts(failed.rates, later?.rates),
        delivered: new Map([...failed.delivered, ...(later?.delivered ?? [])]),
        succeeded: failed.succeeded || (later?.succeeded ?? false),
      });
    }
    return deadLetters;
  }
}

function mergeCounts(a: Map<string, number>, b: Map<string, number> | undefined): Map<string, number> {
  const out = new Map(a);
  for (const [k, n] of b ?? []) out.set(k, (out.get(k) ?? 0) + n);
  return out;
}
