import {
  connectBackends,
  Registry,
  SecretBox,
  createLogger,
  createMetricsRegistry,
  exitOnStartupError,
  redactConfig,
  startOpsServer,
  StreamPublisher,
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

  const backends = await connectBackends({
    service: `watcher-${config.WATCHER_ID}`,
    natsUrl: config.NATS_URL,
    redisUrl: config.REDIS_URL,
    prefix: config.MCIC_PREFIX,
    replicas: config.STREAM_REPLICAS,
    streams: ["events", "deliveries"],
    subscriber: true,
    logger,
  });
  const { redis, subscriber, nats } = backends;

  const metrics = createMetricsRegistry("watcher");
  const registry = new Registry({ redis, prefix: config.MCIC_PREFIX });
  // A full publish window drains at the server's pace: on a slow replicated stream, 8,192 acks
  // can take seconds, and a timeout would only republish the same events.
  const publisher = new StreamPublisher(nats, { timeoutMs: 30_000 });
  const supervisor = new ClusterSupervisor({
    registry,
    subscriber,
    box: new SecretBox(config.MCIC_SECRET_KEY),
    leases: new LeaseTable({ redis, keys: registry.keys, watcherId: config.WATCHER_ID, ttlMs: config.LEASE_TTL_MS }),
    publisher: createEventPublisher(publisher, config.MCIC_PREFIX),
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
    checkReady: backends.checkReady,
  });
  logger.info({ metricsPort: ops.port }, "ready");

  stopOnSignals(logger, async () => {
    await snapshots.stop();
    await supervisor.stop();
    publisher.close();
    await ops.close();
    await backends.close();
  });
}

main().catch((err) => exitOnStartupError("watcher", err));
