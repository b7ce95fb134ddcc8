import { hostname } from "node:os";
import {
  type Backends,
  DISPATCHER_HEARTBEAT_TTL_MS,
  DispatcherPresence,
  EgressPolicy,
  type Logger,
  type MetricsRegistry,
  type OpsServer,
  Registry,
  SecretBox,
  WebhookSender,
  createMetricsRegistry,
  redisKeys,
  startOpsServer,
} from "@mcic/core";
import { jetstream } from "@nats-io/jetstream";
import type { DispatcherConfig } from "./config.js";
import { DEFAULT_MAX_AGE_SECONDS, Deliverer } from "./deliverer.js";
import { DeliveredVersions } from "./delivered-versions.js";
import { createDeliveryConsumer } from "./delivery-consumer.js";
import { DeliveryRecorder } from "./delivery-recorder.js";
import { createDispatcherMetrics } from "./dispatcher-metrics.js";
import { createEventConsumer } from "./event-consumer.js";
import { FailureWindow } from "./failure-window.js";
import { LatestTracker } from "./latest-tracker.js";
import { OrderGuard } from "./order-guard.js";
import { RateLimiter } from "./rate-limiter.js";
import { ReplicaCount } from "./replica-count.js";
import { RevisionReporter } from "./revision-reporter.js";
import { ServerIndex } from "./server-index.js";
import { ServerLanes } from "./server-lanes.js";

export { loadDispatcherConfig, type DispatcherConfig } from "./config.js";

export interface DispatcherDeps {
  config: DispatcherConfig;
  logger: Logger;
  /** Connected; the dispatcher never closes them (its caller does, after stop). */
  backends: Pick<Backends, "redis" | "subscriber" | "nats" | "checkReady">;
  metrics?: MetricsRegistry;
  /** Names this replica in the heartbeat set; two in one process need different ids. */
  replicaId?: string;
  /** The clock the failure window reads (tests step it past `disableAfterSeconds`). */
  now?: () => number;
}

export interface Dispatcher {
  /** Resolves once it consumes both streams and its ops server listens (then it logs "ready"). */
  start(): Promise<void>;
  /** Stops consuming, waits for the deliveries in hand and stores their outcomes. */
  stop(): Promise<void>;
  /** Port of /healthz, /readyz and /metrics, once started (METRICS_PORT 0 picks a free one). */
  readonly opsPort: number | undefined;
}

/** How one replica divides DISPATCH_CONCURRENCY, and how long it waits for what. */
function sizing(config: DispatcherConfig) {
  return {
    // A lane may hold as many events as the consumer has in hand; past that, or while its server
    // fails (the deliverer marks it), events go to the durable queue. ServerLanes' slow-server
    // watchdog (slowAfterMs) is not switched on here.
    eventWindow: config.DISPATCH_CONCURRENCY * 4,
    perServer: Math.max(4, Math.ceil(config.DISPATCH_CONCURRENCY / 4)),
    // An attempt can take the full timeout; acks must outlast it, with margin for the lane queue.
    ackWaitMs: Math.max(5000, config.DISPATCH_TIMEOUT_MS * 3),
    // Another replica's claim is waited for no longer than its attempt can take.
    orderWaitMs: config.DISPATCH_TIMEOUT_MS + 1000,
    // Retry markers must outlive the longest retry horizon.
    latestTtlSeconds: DEFAULT_MAX_AGE_SECONDS * 2,
  };
}

/** Every second: which servers have retries waiting, as every replica writes it to their status. */
const PENDING_REFRESH_MS = 1000;

/** A dispatcher replica on connections it is given (tests run it in-process). */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { config, logger } = deps;
  const { redis, subscriber, nats, checkReady } = deps.backends;
  const prefix = config.MCIC_PREFIX;
  const keys = redisKeys(prefix);
  const size = sizing(config);
  const metricsRegistry = deps.metrics ?? createMetricsRegistry("dispatcher");
  const metrics = createDispatcherMetrics(metricsRegistry);

  const replicaId = deps.replicaId ?? `${hostname()}-${process.pid}`;
  const presence = new DispatcherPresence(redis, keys, DISPATCHER_HEARTBEAT_TTL_MS);
  const lanes = new ServerLanes({
    perServer: size.perServer,
    total: config.DISPATCH_CONCURRENCY,
    maxQueued: size.eventWindow,
  });
  // Confirms a registration change only once requests to servers it dropped have finished.
  const reporter = new RevisionReporter({ presence, id: replicaId, lanes, logger });
  const index = new ServerIndex({
    registry: new Registry({ redis, prefix }),
    subscriber,
    box: new SecretBox(config.MCIC_SECRET_KEY, config.MCIC_SECRET_KEY_PREVIOUS),
    logger,
    onReloaded: (revision, dropped) => reporter.report(revision, dropped),
    onFilterError: (server, err, e) => {
      metrics.filterErrors.inc({ server });
      logger.debug({ server, eventId: e.id, err: err.message }, "filter expression failed; event not delivered");
    },
  });
  const sender = new WebhookSender({ timeoutMs: config.DISPATCH_TIMEOUT_MS, egress: EgressPolicy.fromConfig(config) });
  const recorder = new DeliveryRecorder({ redis, keys, logger, metrics });
  const latest = new LatestTracker(redis, keys, size.latestTtlSeconds);
  const replicas = new ReplicaCount({
    presence,
    id: replicaId,
    ttlMs: DISPATCHER_HEARTBEAT_TTL_MS,
    applied: () => reporter.applied,
    logger,
  });
  const limiter = new RateLimiter({
    replicas: () => replicas.count,
    onDelayed: (server) => metrics.rateLimited.inc({ server }),
  });
  const deliverer = new Deliverer({
    order: { guard: new OrderGuard(redis, keys, size.orderWaitMs), replicas },
    failures: new FailureWindow(redis, keys, deps.now),
    sender,
    servers: index,
    recorder,
    latest,
    lanes,
    js: jetstream(nats),
    redis,
    keys,
    prefix,
    retrySchedule: config.DISPATCH_RETRY_SCHEDULE,
    logger,
  });
  const common = { nats, prefix, index, lanes, deliverer, limiter, ackWaitMs: size.ackWaitMs, logger };
  const events = createEventConsumer({ ...common, concurrency: size.eventWindow });
  const deliveries = createDeliveryConsumer({
    ...common,
    recorder,
    latest,
    versions: new DeliveredVersions(redis, keys),
    concurrency: config.DISPATCH_CONCURRENCY,
  });

  let refreshLatest: NodeJS.Timeout | undefined;
  let ops: OpsServer | undefined;

  return {
    get opsPort() {
      return ops?.port;
    },

    async start() {
      await index.start();
      await replicas.start();
      // Once the heartbeat is up the API waits for this replica; a change it made before saw no
      // heartbeat and did not wait, so read the registrations again before taking any event.
      await index.reload();
      refreshLatest = setInterval(() => {
        latest
          .refresh(index.names())
          .catch((err: unknown) => logger.warn({ err: (err as Error).message }, "reading pending status failed"));
      }, PENDING_REFRESH_MS);
      refreshLatest.unref();
      await deliveries.start();
      await events.start();
      ops = await startOpsServer({ port: config.METRICS_PORT, metrics: metricsRegistry, logger, checkReady });
      logger.info({ metricsPort: ops.port }, "ready");
    },

    // Intake first, then what is in hand, then the bookkeeping that outlived it.
    async stop() {
      await events.stop();
      await deliveries.stop();
      await recorder.flush().catch(() => undefined); // logged, and nothing awaits a dead letter any more
      lanes.stop();
      clearInterval(refreshLatest);
      // Reports after leaving would leave an entry nobody's heartbeat accounts for.
      index.stop();
      await reporter.close();
      await replicas.stop();
      await ops?.close();
      await sender.close();
    },
  };
}
