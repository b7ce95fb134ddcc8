// What the watcher and latency benchmarks start first: their own NATS and Redis, the events stream,
// a sealing key and the registry, and the environment a service started on them needs.
import { randomBytes } from "node:crypto";
import { Registry, SecretBox, ensureEventsStream, eventsStreamName } from "@mcic/core";
import { type TestServer, startNats, startRedis } from "@mcic/core/testing";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";

export interface BenchBackends {
  nats: TestServer;
  redisServer: TestServer;
  box: SecretBox;
  redis: Redis;
  registry: Registry;
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** Messages in the events stream now. */
  streamMessages(): Promise<number>;
  /** NATS_URL, REDIS_URL and MCIC_SECRET_KEY for a service on these backends. */
  serviceEnv: Record<string, string>;
  /** Closes the connections, then stops NATS and Redis. */
  stop(): Promise<void>;
}

export async function startBenchBackends(): Promise<BenchBackends> {
  const [nats, redisServer] = await Promise.all([startNats(), startRedis()]);
  const key = randomBytes(32);
  const redis = new Redis(redisServer.url);
  const nc = await connect({ servers: nats.url, noAsyncTraces: true });
  await ensureEventsStream(nc, { prefix: "mcic", replicas: 1 });
  const jsm = await jetstreamManager(nc);
  return {
    nats,
    redisServer,
    box: new SecretBox(key),
    redis,
    registry: new Registry({ redis, prefix: "mcic" }),
    nc,
    jsm,
    streamMessages: async () => (await jsm.streams.info(eventsStreamName("mcic"))).state.messages,
    serviceEnv: { NATS_URL: nats.url, REDIS_URL: redisServer.url, MCIC_SECRET_KEY: key.toString("base64") },
    stop: async () => {
      await nc.close();
      redis.disconnect();
      await Promise.all([nats.stop(), redisServer.stop()]);
    },
  };
}
