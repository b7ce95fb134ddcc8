import type { Logger } from "./logger.js";
import { connectNats, ensureDeliveriesStream, ensureEventsStream, type NatsConnection } from "./nats.js";
import { connectRedis, type Redis } from "./redis.js";
import type { RedisTarget } from "./redis-url.js";

export interface BackendOptions {
  /** Connection names start with this: `mcic-<service>`. */
  service: string;
  natsUrl: string;
  /** REDIS_URL as the config parsed it (or the URL itself, parsed here). */
  redisUrl: RedisTarget | string;
  prefix: string;
  replicas: number;
  /** Which of mcic's streams to create or update at start. */
  streams: ("events" | "deliveries")[];
  /** Also open a second Redis connection for pub/sub (a subscribed connection can do nothing else). */
  subscriber?: boolean;
  logger: Logger;
}

export interface Backends {
  redis: Redis;
  subscriber: Redis;
  nats: NatsConnection;
  /** Resolves when Redis and NATS answer: what /readyz reports. */
  checkReady(): Promise<void>;
  /** Drains NATS and closes Redis: the last step of a service's shutdown. */
  close(): Promise<void>;
}

/** The NATS and Redis connections every service opens the same way. */
export async function connectBackends(o: BackendOptions): Promise<Backends> {
  const redis = connectRedis(o.redisUrl, `mcic-${o.service}`);
  const subscriber = o.subscriber ? connectRedis(o.redisUrl, `mcic-${o.service}-sub`) : redis;
  for (const r of new Set([redis, subscriber])) {
    r.on("error", (err: Error) => o.logger.warn({ err: err.message }, "redis connection error"));
  }
  const nats = await connectNats(o.natsUrl, `mcic-${o.service}`);
  const settings = { prefix: o.prefix, replicas: o.replicas, logger: o.logger };
  if (o.streams.includes("events")) await ensureEventsStream(nats, settings);
  if (o.streams.includes("deliveries")) await ensureDeliveriesStream(nats, settings);
  return {
    redis,
    subscriber,
    nats,
    checkReady: async () => {
      await redis.ping();
      await nats.flush();
    },
    close: async () => {
      await nats.drain();
      if (subscriber !== redis) subscriber.disconnect();
      await redis.quit();
    },
  };
}
