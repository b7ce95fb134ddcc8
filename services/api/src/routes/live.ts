import { compileFilters } from "@mcic/core";
import type { EventHub } from "../live/event-hub.js";
import { STATS_WINDOW_SECONDS } from "../live/event-hub.js";
import { StatsSchema, StreamQuery, streamFilters } from "../live/live-schemas.js";
import { SseStream } from "../live/sse-stream.js";
import { sendProblem } from "../problem.js";
import type { RouteDeps } from "../route-deps.js";
import type { ApiRoutes } from "../routing.js";

export interface LiveDeps extends Pick<RouteDeps, "registry" | "logger"> {
  hub: EventHub;
  /** Milliseconds between keepalive comments of a stream (default 15 s). */
  keepaliveMs?: number;
  now?: () => number;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

export function mountLiveRoutes(routes: ApiRoutes, deps: LiveDeps): void {
  const { hub, registry, logger } = deps;
  const now = deps.now ?? Date.now;
  const tag = "events";
  let nextStream = 0;

  routes.add({
    method: "get",
    path: "/api/v1/events/stream",
    operationId: "streamEvents",
    summary: "Follow events live (Server-Sent Events)",
    description:
      "A live tail of the envelopes watchers publish, as `text/event-stream`: each envelope is the `data` of a " +
      "default (`message`) event. Query parameters filter like a server's `filters` (lists comma-separated). " +
      "It is not a durable consumer: it starts with the next event, replays nothing and cannot be resumed " +
      "(there is no `id:`); use a registered server for at-least-once delivery. Secret values are never sent " +
      '(they read "REDACTED"); `metadata.managedFields` is left out. A client that reads too slowly loses ' +
      "events instead of being buffered for: it then receives a `dropped` event `{dropped: n}`. A comment line " +
      "is sent every 15 s. Browsers' EventSource cannot send the bearer token: read it with fetch(). " +
      "At most 100 streams are open at a time per API replica (503 beyond).",
    tag,
    query: StreamQuery,
    responses: {
      200: { description: "the event stream (never ends while the API runs)", contentType: "text/event-stream" },
      503: { description: "too many open streams, or the API is stopping; try again later" },
    },
    handler: (ctx, { query }) => {
      const matches = compileFilters(streamFilters(query));
      if (hub.closed || hub.full) {
        ctx.set("Retry-After", "5");
        sendProblem(ctx, 503, "unavailable", hub.closed ? "the API is stopping" : "too many open event streams");
        return;
      }
      if (ctx.method === "HEAD") {
        // Headers only: a HEAD must not hold a stream slot open until the client goes away.
        ctx.status = 200;
        ctx.type = "text/event-stream; charset=utf-8";
        return;
      }
      const log = logger.child({ stream: ++nextStream });
      // The response is written by SseStream, not by Koa: it stays open after this handler returns.
      ctx.status = 200;
      ctx.respond = false;
      ctx.req.socket.setNoDelay(true);
      ctx.req.socket.setTimeout(0);
      let remove: () => void = () => undefined;
      const stream = new SseStream(ctx.res, {
        matches,
        logger: log,
        ...(deps.keepaliveMs !== undefined ? { keepaliveMs: deps.keepaliveMs } : {}),
        onEnd: () => {
          remove();
          log.debug("live stream closed");
        },
      });
      remove = hub.add(stream);
      log.debug({ open: hub.size }, "live stream opened");
    },
  });

  routes.add({
    method: "get",
    path: "/api/v1/stats",
    operationId: "getStats",
    summary: "Events and deliveries per second over the last minute",
    description:
      "Events per second of each registered cluster, counted by this API replica from the live events " +
      "(over less than a minute right after it started), and successful deliveries per second and the " +
      "success rate of each registered server, from counters the dispatchers keep in Redis.",
    tag,
    responses: { 200: { description: "the rates", schema: StatsSchema } },
    handler: async (ctx) => {
      const [clusters, servers] = await Promise.all([registry.clusterNames(), registry.listServers()]);
      const names = servers.map((s) => s.name);
      const at = now();
      const rates = await registry.deliveryRates(names, at);
      const { seconds, counts } = hub.eventCounts();
      ctx.body = {
        windowSeconds: STATS_WINDOW_SECONDS,
        clusters: clusters.sort().map((name) => {
          const events = counts.get(name) ?? 0;
          return { name, events, eventsPerSecond: round(events / seconds) };
        }),
        servers: names.map((name) => {
          const r = rates.get(name) ?? { delivered: 0, failed: 0, seconds: STATS_WINDOW_SECONDS };
          const attempts = r.delivered + r.failed;
          return {
            name,
            delivered: r.delivered,
            failed: r.failed,
            deliveriesPerSecond: round(r.delivered / r.seconds),
            successRate: attempts === 0 ? null : round(r.delivered / attempts),
          };
        }),
      };
    },
  });
}
