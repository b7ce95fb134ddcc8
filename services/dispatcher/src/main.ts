import {
  Registry,
  SecretBox,
  connectNats,
  connectRedis,
  createLogger,
  createMetricsRegistry,
  ensureEventsStream,
  exitOnStartupError,
  redactConfig,
  startOpsServer,
  WebhookSender,
  stopOnSignals,
} from "@mcic/core";
import { loadDispatcherConfig } from "./config.js";
import { DispatchConsumer } from "./dispatch-consumer.js";
import { ServerIndex } from "./server-index.js";

async function main() {
  const config = loadDispatcherConfig();
  const logger = createLogger({ name: "dispatcher", level: config.LOG_LEVEL });
  logger.info({ config: redactConfig(config) }, "starting");

  const redis = connectRedis(config.REDIS_URL, "mcic-dispatcher");
  const subscriber = connectRedis(config.REDIS_URL, "mcic-dispatcher-sub");
  for (const r of [redis, subscriber])
    r.on("error", (err) => logger.warn({ err: err.message }, "redis connection error"));
  const nats = await connectNats(config.NATS_URL, "mcic-dispatcher");
  await ensureEventsStream(nats, { prefix: config.MCIC_PREFIX, replicas: config.STREAM_REPLICAS });

  const registry = new Registry({ redis, prefix: config.MCIC_PREFIX });
  const index = new ServerIndex({ registry, subscriber, box: new SecretBox(config.MCIC_SECRET_KEY), logger });
  await index.start();
  const sender = new WebhookSender({ timeoutMs: config.DISPATCH_TIMEOUT_MS });
  const consumer = new DispatchConsumer({
    nats,
    redis,
    keys: registry.keys,
    prefix: config.MCIC_PREFIX,
    index,
    sender,
    retrySchedule: config.DISPATCH_RETRY_SCHEDULE,
    concurrency: config.DISPATCH_CONCURRENCY,
    logger,
  });
  await consumer.start();

  const ops = await startOpsServer({
    port: config.METRICS_PORT,
    metrics: createMetricsRegistry("dispatcher"),
    logger,
    checkReady: async () => {
      await redis.ping();
      await nats.flush();
    },
  });
  logger.info({ metricsPort: ops.port }, "ready");

  stopOnSignals(logger, async () => {
    await consumer.stop();
    index.stop();
    await ops.close();
    await sender.close();
    await nats.drain();
    subscriber.disconnect();
    await redis.quit();
  });
}

main().catch((err) => exitOnStartupError("dispatcher", err));
