import { hostname } from "node:os";
import {
  connectBackends,
  Registry,
  SecretBox,
  WebhookSender,
  createLogger,
  createMetricsRegistry,
  exitOnStartupError,
  redactConfig,
  startOpsServer,
  stopOnSignals,
} from "@mcic/core";
import { jetstream } from "@nats-io/jetstream";
import { loadDispatcherConfig } from "./config.js";
import { Deliverer, DEFAULT_MAX_AGE_SECONDS } from "./deliverer.js";
import { createDeliveryConsumer } from "./delivery-consumer.js";
import { DeliveryRecorder } from "./delivery-recorder.js";
import { createDispatcherMetrics } from "./dispatcher-metrics.js";
import { createEventConsumer } from "./event-consumer.js";
import { LatestTracker } from "./latest-tracker.js";
import { OrderGuard } from "./order-guard.js";
import { ReplicaCount } from "./replica-count.js";
import { ServerIndex } from "./server-index.js";
import { ServerLanes } from "./server-lanes.js";

async function main() {
  const config = loadDispatcherConfig();
  const logger = createLogger({ name: "dispatcher", level: config.LOG_LEVEL });
  logger.info({ config: redactConfig(config) }, "starting");

  const backends = await connectBackends({
    service: "dispatcher",
    natsUrl: config.NATS_URL,
    redisUrl: config.REDIS_URL,
    prefix: config.MCIC_PREFIX,
    replicas: config.STREAM_REPLICAS,
    streams: ["events", "deliveries"],
    subscriber: true,
    logger,
  });
  const { redis, subscriber, nats } = backends;

  const metricsRegistry = createMetricsRegistry("dispatcher");
  const metrics = createDispatcherMetrics(metricsRegistry);
  const registry = new Registry({ redis, prefix: config.MCIC_PREFIX });
  const index = new ServerIndex({ registry, subscriber, box: new SecretBox(config.MCIC_SECRET_KEY), logger });
  await index.start();
  const sender = new WebhookSender({ timeoutMs: config.DISPATCH_TIMEOUT_MS });
  const recorder = new DeliveryRecorder({ redis, keys: registry.keys, logger, metrics });
  // A lane may hold as many events as the consumer has in hand; servers that are slow or failing
  // are kept from filling it by the deliverer's watchdog, which sends their events to the queue.
  const eventWindow = config.DISPATCH_CONCURRENCY * 4;
  const lanes = new ServerLanes({
    perServer: Math.max(4, Math.ceil(config.DISPATCH_CONCURRENCY / 4)),
    total: config.DISPATCH_CONCURRENCY,
    maxQueued: eventWindow,
  });
  const latest = new LatestTracker(redis, registry.keys, DEFAULT_MAX_AGE_SECONDS * 2);
  const replicas = new ReplicaCount({
    redis,
    key: registry.keys.dispatchers,
    id: `${hostname()}-${process.pid}`,
    ttlMs: 5000,
    logger,
  });
  await replicas.start();
  const refreshLatest = setInterval(() => {
    latest
      .refresh(index.names())
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, "reading pending status failed"));
  }, 1000);
  refreshLatest.unref();
  const deliverer = new Deliverer({
    order: { guard: new OrderGuard(redis, registry.keys, config.DISPATCH_TIMEOUT_MS + 1000), replicas },
    sender,
    recorder,
    latest,
    lanes,
    js: jetstream(nats),
    redis,
    keys: registry.keys,
    prefix: config.MCIC_PREFIX,
    retrySchedule: config.DISPATCH_RETRY_SCHEDULE,
    logger,
  });
  // An attempt can take the full timeout; acks must outlast it, with margin for the lane queue.
  const ackWaitMs = Math.max(5000, config.DISPATCH_TIMEOUT_MS * 3);
  const common = { nats, prefix: config.MCIC_PREFIX, index, lanes, deliverer, ackWaitMs, logger };
  const events = createEventConsumer({ ...common, concurrency: eventWindow });
  const deliveries = createDeliveryConsumer({ ...common, recorder, latest, concurrency: config.DISPATCH_CONCURRENCY });
  await deliveries.start();
  await events.start();

  const ops = await startOpsServer({
    port: config.METRICS_PORT,
    metrics: metricsRegistry,
    logger,
    checkReady: backends.checkReady,
  });
  logger.info({ metricsPort: ops.port }, "ready");

  stopOnSignals(logger, async () => {
    await events.stop();
    await deliveries.stop();
    await recorder.flush();
    lanes.stop();
    clearInterval(refreshLatest);
    await replicas.stop();
    index.stop();
    await ops.close();
    await sender.close();
    await backends.close();
  });
}

main().catch((err) => exitOnStartupError("dispatcher", err));
