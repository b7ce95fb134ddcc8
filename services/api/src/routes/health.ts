import type { MetricsRegistry } from "@mcic/core";
import { sendProblem } from "../problem.js";
import type { ApiRoutes } from "../routing.js";
import { HealthSchema } from "../schemas.js";

export interface HealthDeps {
  /** Resolves when Redis and NATS answer; rejects with the reason otherwise. */
  checkReady: () => Promise<void>;
  metrics: MetricsRegistry;
}

export function mountHealthRoutes(routes: ApiRoutes, deps: HealthDeps): void {
  const tag = "operations";
  routes.add({
    method: "get",
    path: "/healthz",
    operationId: "healthz",
    summary: "The process is up",
    tag,
    open: true,
    anyQuery: true,
    responses: { 200: { description: "up", schema: HealthSchema } },
    handler: (ctx) => {
      ctx.body = { status: "ok" };
    },
  });
  routes.add({
    method: "get",
    path: "/readyz",
    operationId: "readyz",
    summary: "Redis and NATS answer",
    tag,
    open: true,
    anyQuery: true,
    responses: {
      200: { description: "ready", schema: HealthSchema },
      503: { description: "Redis or NATS does not answer; `detail` says which" },
    },
    handler: async (ctx) => {
      try {
        await deps.checkReady();
        ctx.body = { status: "ready" };
      } catch (err) {
        sendProblem(ctx, 503, "not_ready", (err as Error).message);
      }
    },
  });
  routes.add({
    method: "get",
    path: "/metrics",
    operationId: "metrics",
    anyQuery: true,
    summary: "Prometheus metrics",
    description:
      "`mcic_api_requests_total{route,method,status}`, `mcic_api_request_duration_seconds{route,method}` and the " +
      "Node.js process metrics. Needs the bearer token when API_TOKENS is set.",
    tag,
    responses: { 200: { description: "Prometheus text format", contentType: "text/plain" } },
    handler: async (ctx) => {
      ctx.type = deps.metrics.contentType;
      ctx.body = await deps.metrics.metrics();
    },
  });
}
