import { Redis } from "ioredis";

export { Redis } from "ioredis";

/** A Redis client that reconnects forever; callers see errors per command, not a dead client. */
export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    // Commands issued in the same tick go out in one write: thousands of watches and deliveries
    // each saving a little state would otherwise cost a syscall apiece.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 3,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
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
