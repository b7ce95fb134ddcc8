import { Redis } from "ioredis";

export { Redis } from "ioredis";

/** A Redis client that reconnects forever; callers see errors per command, not a dead client. */
export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 3,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  });
}
