import {
  type DispatcherPresence,
  type EgressPolicy,
  type Logger,
  type MetricsRegistry,
  type NatsConnection,
  type Registry,
  type SecretBox,
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
import { EventHub } from "./live/event-hub.js";
import { httpMetrics } from "./metrics.js";
import { problemMiddleware } from "./problem.js";
import type { RouteDeps } from "./route-deps.js";
import { ApiRoutes } from "./routing.js";
import { mountClusterRoutes } from "./routes/clusters.js";
import { mountDocRoutes } from "./routes/docs.js";
import { mountEventTypeRoutes } from "./routes/event-types.js";
import { mountHealthRoutes } from "./routes/health.js";
import { mountLiveRoutes } from "./routes/live.js";
import { mountSeedCompatRoutes } from "./routes/seed-compat.js";
import { mountDeliveryLogRoutes } from "./routes/delivery-log.js";
import { mountServerOpsRoutes } from "./routes/server-ops.js";
import { mountServerRoutes } from "./routes/servers.js";
import { mountUiRoutes } from "./routes/ui.js";
import { requestSnapshot } from "./snapshots.js";

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
  /** Open `/events/stream` connections allowed at once (default 100). */
  maxEventStreams?: number;
  /** Milliseconds between keepalive comments of an event stream (default 15 s). */
  streamKeepaliveMs?: number;
  now?: () => Date;
}

export interface Api {
  app: Koa;
  routes: ApiRoutes;
  /** Resolves when snapshot requests started in the background have finished. */
  settled(): Promise<void>;
  /** Ends the open event streams and stops following events (before the HTTP server closes). */
  close(): void;
}

/** The whole HTTP API, every dependency injected (tests run it over HTTP). */
export function createApi(deps: AppDeps): Api {
  const app = new Koa();
  const routes = new ApiRoutes();
  const metrics = deps.metrics ?? createMetricsRegistry("api");
  const background = new Set<Promise<void>>();
  const routeDeps: RouteDeps = {
    registry: deps.registry,
    box: deps.box,
    logger: deps.logger,
    now: deps.now ?? (() => new Date()),
    prefix: deps.prefix,
    nats: deps.nats,
    js: jetstream(deps.nats),
    sender: deps.sender,
    snapshotWaitMs: deps.snapshotWaitMs ?? 500,
    awaitDispatchers: dispatcherSync({
      registry: deps.registry,
      presence: deps.presence,
      timeoutMs: deps.dispatcherSyncTimeoutMs ?? DEFAULT_DISPATCHER_SYNC_MS,
      logger: deps.logger,
      metrics,
    }),
    snapshotInBackground: (server) => {
      // requestSnapshot publishes before its first await; the flush makes sure NATS has it.
      const work = requestSnapshot(deps.nats, {
        prefix: deps.prefix,
        server,
        waitMs: deps.snapshotWaitMs ?? 500,
        logger: deps.logger,
      }).then(
        ({ requestId, replies }) =>
          deps.logger.info(
            { server, requestId, clusters: replies.flatMap((r) => r.clusters) },
            "snapshot requested for a new server",
          ),
        (err: unknown) =>
          deps.logger.warn({ server, err: (err as Error).message }, "snapshot request for a new server failed"),
      );
      background.add(work);
      void work.finally(() => background.delete(work));
      return deps.nats.flush().catch((err: unknown) => {
        deps.logger.warn({ server, err: (err as Error).message }, "snapshot request for a new server failed");
      });
    },
  };

  mountHealthRoutes(routes, { checkReady: deps.checkReady, metrics });
  mountDocRoutes(routes);
  mountUiRoutes(routes);
  mountClusterRoutes(routes, routeDeps);
  mountServerRoutes(routes, routeDeps);
  mountDeliveryLogRoutes(routes, routeDeps);
  mountServerOpsRoutes(routes, routeDeps);
  mountEventTypeRoutes(routes, routeDeps);
  mountSeedCompatRoutes(routes, routeDeps);
  const hub = new EventHub({
    nats: deps.nats,
    prefix: deps.prefix,
    logger: deps.logger,
    ...(deps.maxEventStreams !== undefined ? { maxSubscribers: deps.maxEventStreams } : {}),
  });
  mountLiveRoutes(routes, {
    hub,
    registry: deps.registry,
    logger: deps.logger,
    ...(deps.streamKeepaliveMs !== undefined ? { keepaliveMs: deps.streamKeepaliveMs } : {}),
  });

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
  return {
    app,
    routes,
    settled: async () => void (await Promise.all(background)),
    close: () => hub.close(),
  };
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
