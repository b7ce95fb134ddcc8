import {
  type Backends,
  EgressPolicy,
  type Logger,
  type MetricsRegistry,
  type OpsServer,
  Registry,
  SecretBox,
  SnapshotStatusStore,
  StreamPublisher,
  createMetricsRegistry,
  eventsStreamName,
  startOpsServer,
} from "@mcic/core";
import { jetstream } from "@nats-io/jetstream";
import { ClusterSupervisor } from "./cluster-supervisor.js";
import type { WatcherConfig } from "./config.js";
import { createEventPublisher } from "./event-publisher.js";
import { LeaseTable } from "./lease-table.js";
import { SnapshotResponder } from "./snapshot-responder.js";
import { createWatcherMetrics } from "./watcher-metrics.js";

export { loadWatcherConfig, type WatcherConfig } from "./config.js";

export interface WatcherDeps {
  config: WatcherConfig;
  logger: Logger;
  /** Connected, the events stream in place; the watcher never closes them (its caller does, after stop). */
  backends: Pick<Backends, "redis" | "subscriber" | "nats" | "checkReady">;
  metrics?: MetricsRegistry;
}

export interface Watcher {
  /** Resolves once it follows registrations, answers snapshot requests and its ops server listens (then it logs "ready"). */
  start(): Promise<void>;
  /** Stops every cluster watch after saving where each resumes, and hands the clusters to the other replicas. */
  stop(): Promise<void>;
  /** Port of /healthz, /readyz and /metrics, once started (METRICS_PORT 0 picks a free one). */
  readonly opsPort: number | undefined;
  /** The clusters this replica watches now. */
  readonly clusters: string[];
}

/** Leases are renewed three times per TTL, but not more often than every 200 ms nor less than every 5 s. */
function tickMs(leaseTtlMs: number): number {
  return Math.min(5000, Math.max(200, Math.floor(leaseTtlMs / 3)));
}

/** A watcher replica on connections it is given (tests run it in-process). */
export function createWatcher(deps: WatcherDeps): Watcher {
  const { config, logger } = deps;
  const { redis, subscriber, nats, checkReady } = deps.backends;
  const prefix = config.MCIC_PREFIX;
  const metricsRegistry = deps.metrics ?? createMetricsRegistry("watcher");
  const registry = new Registry({ redis, prefix });
  const metrics = createWatcherMetrics(metricsRegistry);
  // A full publish window drains at the server's pace: on a slow replicated stream, 8,192 acks
  // can take seconds, and a timeout would only republish the same events. Meanwhile a stream
  // leader election (seconds) is ridden out by resending, not by restarting every watch.
  const publisher = new StreamPublisher(nats, {
    timeoutMs: 30_000,
    stream: eventsStreamName(prefix),
    onResend: (reason, count) => {
      metrics.publishResends.inc({ reason }, count);
      if (reason === "leader_elected" || reason === "reconnected") {
        logger.info({ reason, count }, "resending unacknowledged events");
      }
    },
  });
  const box = new SecretBox(config.MCIC_SECRET_KEY, config.MCIC_SECRET_KEY_PREVIOUS);
  const supervisor = new ClusterSupervisor({
    registry,
    redis,
    subscriber,
    box,
    leases: new LeaseTable({ redis, keys: registry.keys, watcherId: config.WATCHER_ID, ttlMs: config.LEASE_TTL_MS }),
    publisher: createEventPublisher(publisher, prefix, box),
    logger,
    metrics,
    tickMs: tickMs(config.LEASE_TTL_MS),
    egress: EgressPolicy.fromConfig(config),
    http2: config.WATCH_HTTP2,
  });
  const snapshots = new SnapshotResponder({
    nats,
    js: jetstream(nats),
    prefix,
    registry,
    supervisor,
    outcomes: new SnapshotStatusStore(redis, registry.keys),
    box,
    logger,
  });
  let ops: OpsServer | undefined;

  return {
    get opsPort() {
      return ops?.port;
    },
    get clusters() {
      return supervisor.clusters;
    },

    async start() {
      await supervisor.start();
      snapshots.start();
      ops = await startOpsServer({ port: config.METRICS_PORT, metrics: metricsRegistry, logger, checkReady });
      logger.info({ metricsPort: ops.port }, "ready");
    },

    // No more snapshot work, then the watches (saving where each resumes), then what they published.
    async stop() {
      await snapshots.stop();
      await supervisor.stop();
      publisher.close();
      await ops?.close();
    },
  };
}
