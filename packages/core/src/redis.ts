import { Redis, type RedisOptions } from "ioredis";
import { parseRedisUrl, type RedisTarget } from "./redis-url.js";

export { Redis } from "ioredis";

/** Milliseconds before the next attempt: quick at first, then every 2 s, forever. */
const backoff = (times: number) => Math.min(times * 200, 2000);

/**
 * A Redis client that reconnects forever; callers see errors per command, not a dead client. The
 * one place services create clients, for a single Redis or a master found through Sentinel.
 */
export function connectRedis(target: RedisTarget | string, name: string): Redis {
  const { url, options } = (typeof target === "string" ? parseRedisUrl(target) : target).clientSettings();
  const common: RedisOptions = {
    connectionName: name,
    // Commands issued in the same tick go out in one write: thousands of watches and deliveries
    // each saving a little state would otherwise cost a syscall apiece.
    enableAutoPipelining: true,
    // Commands issued while reconnecting wait in the offline queue and fail after three
    // reconnection attempts: a failover shows as a few seconds of errors the callers retry.
    maxRetriesPerRequest: 3,
    retryStrategy: backoff,
    lazyConnect: false,
  };
  if (url !== undefined) return new Redis(url, common);
  return new Redis({
    ...options,
    ...common,
    // Each reconnection asks the sentinels for the master again; when none answers, keep asking.
    sentinelRetryStrategy: backoff,
    // Off on purpose: with ioredis 5.11, a +switch-master that arrives while the client is
    // reconnecting after its master died (the common crash) ends the client for good ("Connection
    // is closed"), seen in registry-failover.test.ts. Sentinel itself disconnects the clients of a
    // master it demotes, and READONLY (below) covers a client that still reaches one.
    failoverDetector: false,
    // A demoted master refuses writes with READONLY: reconnect to the master the sentinels name
    // now. The command fails (the caller retries it) rather than being resent: resending one
    // command of a MULTI alone would apply half a transaction.
    reconnectOnError: (err) => err.message.includes("READONLY"),
  });
}

/**
 * Resolves once the connection passed its ready check. A subscriber must wait for it: a SUBSCRIBE
 * sent before the check makes Redis refuse the check's INFO ("subscriber mode").
 */
export async function redisReady(redis: Redis): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      redis.off("end", onEnd);
      resolve();
    };
    const onEnd = () => {
      redis.off("ready", onReady);
      reject(new Error("redis connection closed before it was ready"));
    };
    redis.once("ready", onReady);
    redis.once("end", onEnd);
  });
}

/** Replies Redis gives while it cannot serve writes or reads for now (a failover under way). */
const TRANSIENT_REPLY = /^(READONLY|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;
const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND"]);

/**
 * Whether an error means "Redis is unreachable or failing over right now" rather than a bug or bad
 * data: callers answer 503 and try again, instead of 500. Looks through `cause` (RedisWriteError).
 */
export function isRedisUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (e.name === "MaxRetriesPerRequestError") return true;
    if (e.message === "Connection is closed." || e.message.startsWith("Stream isn't writeable")) return true;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
    if (e.name === "ReplyError" && TRANSIENT_REPLY.test(e.message)) return true;
  }
  return false;
}
