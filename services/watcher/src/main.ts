import {
  Registry,
  SecretBox,
  connectNats,
  connectRedis,
  createLogger,
  createMetricsRegistry,
  ensureDeliveriesStream,
  ensureEventsStream,
  exitOnStartupError,
  redactConfig,
  startOpsServer,
  stopOnSignals,
} from "@mcic/core";
import { jetstream } from "@nats-io/jetstream";
import { ClusterSupervisor } from "./cluster-supervisor.js";
import { loadWatcherConfig } from "./config.js";
import { createEventPublisher } from "./event-publisher.js";
import { LeaseTable } from "./lease-table.js";
import { SnapshotResponder } from "./snapshot-responder.js";
import { createWatcherMetrics } from "./watcher-metrics.js";

async function main() {
  const config = loadWatcherConfig();
  const logger = createLogger({ name: "watcher", level: config.LOG_LEVEL }).child({ watcherId: config.WATCHER_ID });
  logger.info({ config: redactConfig(config) }, "starting");

  const redis = connectRedis(config.REDIS_URL, "mcic-watcher");
  const subscriber = connectRedis(config.REDIS_URL, "mcic-watcher-sub");
  for (const r of [redis, subscriber])
    r.on("error", (err) => logger.warn({ err: err.message }, "redis connection error"));
  const nats = await connectNats(config.NATS_URL, `mcic-watcher-${config.WATCHER_ID}`);
  const streams = { prefix: config.MCIC_PREFIX, replicas: config.STREAM_REPLICAS };
  await ensureEventsStream(nats, streams);
  await ensureDeliveriesStream(nats, streams);

  const metrics = createMetricsRegistry("watcher");
  const registry = new Registry({ redis, prefix: config.MCIC_PREFIX });
  const supervisor = new ClusterSupervisor({
    registry,
    subscriber,
    box: new SecretBox(config.MCIC_SECRET_KEY),
    leases: new LeaseTable({ redis, keys: registry.keys, watcherId: config.WATCHER_ID, ttlMs: config.LEASE_TTL_MS }),
    publish: createEventPublisher(jetstream(nats), config.MCIC_PREFIX),
    logger,
    metrics: createWatcherMetrics(metrics),
    tickMs: Math.min(5000, Math.max(200, Math.floor(config.LEASE_TTL_MS / 3))),
  });
  await supervisor.start();
  const snapshots = new SnapshotResponder({
    nats,
    js: jetstream(nats),
    prefix: config.MCIC_PREFIX,
    registry,
    supervisor,
    logger,
  });
  snapshots.start();

  const ops = await startOpsServer({
    port: config.METRICS_PORT,
    metrics,
    logger,
    checkReady: async () => {
      await redis.ping();
      await nats.flush();
    },
  });
  logger.info({ metricsPort: ops.port }, "ready");

  stopOnSignals(logger, async () => {
    await snapshots.stop();
    await supervisor.stop();
    await ops.close();
    await nats.drain();
    subscriber.disconnect();
    await redis.quit();
  });
}

main().catch((err) => exitOnStartupError("watcher", err));
