import type { Redis } from "ioredis";
import type { RedisKeys } from "./keys.js";

/**
 * Per-server delivery counts of the last minute, for `GET /stats`. Dispatchers add each flush's
 * attempts to a counter per 5-second bucket (two INCRBYs and EXPIREs per server per flush, in the
 * batch the delivery log goes in); the API sums the buckets of the last minute. Cheaper than
 * reading back the delivery log (capped at 1000 entries: too few at a busy server), and the keys
 * expire on their own.
 */
export const RATE_BUCKET_SECONDS = 5;
export const RATE_WINDOW_SECONDS = 60;
/** Buckets outlive the window a little, so the oldest one read is never gone yet. */
export const RATE_BUCKET_TTL_SECONDS = RATE_WINDOW_SECONDS + 2 * RATE_BUCKET_SECONDS;

export type RateOutcome = "ok" | "failed";

export function rateBucket(atMs: number): number {
  return Math.floor(atMs / 1000 / RATE_BUCKET_SECONDS);
}

export interface DeliveryRate {
  delivered: number;
  failed: number;
  /** Seconds the counts cover (the window plus the part of the current bucket gone by). */
  seconds: number;
}

/** Sums each server's buckets over the last minute: one MGET per server, pipelined. */
export async function readDeliveryRates(
  redis: Redis,
  keys: RedisKeys,
  servers: string[],
  nowMs: number,
): Promise<Map<string, DeliveryRate>> {
  const current = rateBucket(nowMs);
  const full = RATE_WINDOW_SECONDS / RATE_BUCKET_SECONDS;
  const buckets = Array.from({ length: full + 1 }, (_, i) => current - full + i);
  const seconds = RATE_WINDOW_SECONDS + (nowMs / 1000 - current * RATE_BUCKET_SECONDS);
  const pipeline = redis.pipeline();
  for (const s of servers) {
    pipeline.mget(...buckets.flatMap((b) => [keys.serverRate(s, "ok", b), keys.serverRate(s, "failed", b)]));
  }
  const results = servers.length > 0 ? ((await pipeline.exec()) ?? []) : [];
  const out = new Map<string, DeliveryRate>();
  servers.forEach((s, i) => {
    const [err, values] = results[i] ?? [null, []];
    if (err) throw err;
    let delivered = 0;
    let failed = 0;
    (values as (string | null)[]).forEach((v, j) => {
      const n = Number(v ?? 0) || 0;
      if (j % 2 === 0) delivered += n;
      else failed += n;
    });
    out.set(s, { delivered, failed, seconds });
  });
  return out;
}
