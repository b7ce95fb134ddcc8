import {
  type DispatcherPresence,
  type EgressPolicy,
  type Logger,
  type MetricsRegistry,
  type NatsConnection,
  type Registry,
  type SecretBox,
  type SnapshotStatusStore,
  type WebhookSender,
  createMetricsRegistry,
  defaultEgressPolicy,
} from "@mcic/core";
import { jetstream } from "@nats-io/jetstream";
import Koa, { type Context } from "koa";
import { bearerAuth } from "./auth.js";
import { DEFAULT_DISPATCHER_SYNC_MS, dispatcherSync } from "./dispatcher-sync.js";
import { egressScope } from "./egress-scope.js";
import { loopbackHostOnly } from "./host-check.js";
import { httpMetrics } from "./metrics.js";
import { problemMiddleware } from "./problem.js";
import type { RouteDeps } from "./route-deps.js";
import { ApiRoutes } from "./routing.js";
import { mountClusterRoutes } from "./routes/clusters.js";
import { mountDocRoutes } from "./routes/docs.js";
import { mountHealthRoutes } from "./routes/health.js";
import { mountSeedCompatRoutes } from "./routes/seed-compat.js";
import { mountDeliveryLogRoutes } from "./routes/delivery-log.js";
import { mountServerOpsRoutes } from "./routes/server-ops.js";
import { mountServerRoutes } from "./routes/servers.js";
import { type SnapshotDeps, startSnapshot } from "./snapshots.js";

export interface AppDeps {
  registry: Registry;
  /** Dispatcher heartbeats and applied revisions: server changes are answered once all applied them. */
  presence: DispatcherPresence;
  /** How long a server change waits for the dispatchers at most (default 5 s). */
  dispatcherSyncTimeoutMs?: number;
  box: SecretBox;
  logger: Logger;
  tokens: string[];
  checkReady: () => Promise<void>;
  /** MCIC_PREFIX: NATS subjects of snapshot requests and replays. */
  prefix: string;
  /** Core requests (resync) and JetStream publishes (replay); the deliveries stream must exist. */
  nats: NatsConnection;
  /** Sends POST /servers/{name}/test. */
  sender: WebhookSender;
  /** Refuses server and cluster URLs whose literal address it denies (default: SPEC's deny list). */
  egress?: EgressPolicy;
  metrics?: MetricsRegistry;
  /** How long a resync collects watcher replies (default 500 ms). */
  snapshotWaitMs?: number;
  /** Where each server's latest snapshot outcome is kept (status.snapshot). */
  snapshots: SnapshotStatusStore;
  /** How long a resync waits for its clusters' outcomes before answering (default 5 s). */
  snapshotOutcomeWaitMs?: number;
  now?: () => Date;
}

export interface Api {
  app: Koa;
  routes: ApiRoutes;
  /** Resolves when snapshot requests started in the background have finished. */
  settled(): Promise<void>;
}

/** The whole HTTP API, every dependency injected (tests run it over HTTP). */
export function createApi(deps: AppDeps): Api {
  const app = new Koa();
  const routes = new ApiRoutes();
  const metrics = deps.metrics ?? createMetricsRegistry("api");
  const background = new Set<Promise<void>>();
  const snapshot: SnapshotDeps = {
    nats: deps.nats,
    registry: deps.registry,
    outcomes: deps.snapshots,
    prefix: deps.prefix,
    waitMs: deps.snapshotWaitMs ?? 500,
    logger: deps.logger,
    now: deps.now ?? (() => new Date()),
  };
  const routeDeps: RouteDeps = {
    registry: deps.registry,
    box: deps.box,
    logger: deps.logger,
    now: deps.now ?? (() => new Date()),
    prefix: deps.prefix,
    nats: deps.nats,
    js: jetstream(deps.nats),
    sender: deps.sender,
    snapshot,
    snapshotOutcomeWaitMs: deps.snapshotOutcomeWaitMs ?? 5000,
    awaitDispatchers: dispatcherSync({
      registry: deps.registry,
      presence: deps.presence,
      timeoutMs: deps.dispatcherSyncTimeoutMs ?? DEFAULT_DISPATCHER_SYNC_MS,
      logger: deps.logger,
      metrics,
    }),
    snapshotInBackground: (server) => {
      const { requestId, published, started } = startSnapshot(snapshot, server);
      const work = started.then(
        (status) =>
          deps.logger.info(
            { server: server.name, requestId, clusters: status.clusters.map((c) => `${c.cluster}:${c.state}`) },
            "snapshot requested for a new server",
          ),
        (err: unknown) =>
          deps.logger.warn(
            { server: server.name, requestId, err: (err as Error).message },
            "snapshot request for a new server failed",
          ),
      );
      background.add(work);
      void work.finally(() => background.delete(work));
      // Failures are logged above; the registration stands either way.
      return published.catch(() => undefined);
    },
  };

  mountHealthRoutes(routes, { checkReady: deps.checkReady, metrics });
  mountDocRoutes(routes);
  mountClusterRoutes(routes, routeDeps);
  mountServerRoutes(routes, routeDeps);
  mountDeliveryLogRoutes(routes, routeDeps);
  mountServerOpsRoutes(routes, routeDeps);
  mountSeedCompatRoutes(routes, routeDeps);

  /** The route pattern a request is for (path match only, so 401s and 405s are labelled too). */
  const routeOf = (ctx: Context): string | undefined => {
    const layer = routes.router.match(ctx.path, ctx.method).path.find((l) => l.methods.length > 0);
    return typeof layer?.path === "string" ? layer.path : undefined;
  };
  const isOpen = (ctx: Context): boolean => {
    const route = routeOf(ctx);
    return route !== undefined && routes.openPaths.has(route);
  };

  app.use(httpMetrics(metrics, routeOf));
  app.use(accessLog(deps.logger));
  app.use(problemMiddleware(deps.logger));
  if (deps.tokens.length === 0) app.use(loopbackHostOnly());
  app.use(bearerAuth(deps.tokens, isOpen));
  app.use(egressScope(deps.egress ?? defaultEgressPolicy()));
  app.use(routes.router.routes());
  app.use(routes.router.allowedMethods());
  // Koa's default handler would print errors to stderr; ours are already logged by problemMiddleware.
  app.silent = true;
  return { app, routes, settled: async () => void (await Promise.all(background)) };
}

/** createApi's Koa app alone. */
export function createApp(deps: AppDeps): Koa {
  return createApi(deps).app;
}

/** One debug line per request: method, path (never the query or headers), status, duration. */
function accessLog(logger: Logger) {
  return async (ctx: Context, next: Koa.Next) => {
    const started = performance.now();
    await next();
    logger.debug(
      { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) },
      "request",
    );
  };
}
