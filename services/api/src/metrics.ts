import { Counter, Histogram, type MetricsRegistry } from "@mcic/core";
import type { Context, Next } from "koa";

/**
 * `mcic_api_requests_total{route,method,status}` and `mcic_api_request_duration_seconds{route,method}`.
 * `route` is the router's pattern (`/api/v1/servers/:name`), never the raw path, so label values
 * stay few; requests that match no route count as "unmatched".
 */
export function httpMetrics(registry: MetricsRegistry, routeOf: (ctx: Context) => string | undefined) {
  const requests = new Counter({
    name: "mcic_api_requests_total",
    help: "HTTP requests answered by the API",
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "mcic_api_request_duration_seconds",
    help: "Time to answer an API request",
    labelNames: ["route", "method"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return async (ctx: Context, next: Next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const matched = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
      const route = typeof matched === "string" ? matched : (routeOf(ctx) ?? "unmatched");
      requests.inc({ route, method: ctx.method, status: String(ctx.status) });
      duration.observe({ route, method: ctx.method }, (performance.now() - started) / 1000);
    }
  };
}
