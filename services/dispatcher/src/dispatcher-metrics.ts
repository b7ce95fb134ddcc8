import { Counter, Gauge, Histogram, type MetricsRegistry } from "@mcic/core";

/** What operators watch on a dispatcher replica (see docs/operations.md). */
export function createDispatcherMetrics(registry: MetricsRegistry) {
  return {
    deliveries: new Counter({
      name: "mcic_dispatcher_deliveries_total",
      help: "Delivery attempts by server and outcome (delivered, retrying, dead-lettered, disabled, superseded, dropped)",
      labelNames: ["server", "outcome"],
      registers: [registry],
    }),
    attemptDuration: new Histogram({
      name: "mcic_dispatcher_attempt_duration_seconds",
      help: "Duration of one HTTP attempt, by server",
      labelNames: ["server"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    pending: new Gauge({
      name: "mcic_dispatcher_pending",
      help: "Deliveries waiting in the server's durable queue (retries, overflow, snapshots, replays), by server; every replica reports the same count",
      labelNames: ["server"],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: "mcic_dispatcher_rate_limited_total",
      help: "Deliveries that waited for their server's rateLimit (queued for a later slot, never dropped), by server",
      labelNames: ["server"],
      registers: [registry],
    }),
    filterErrors: new Counter({
      name: "mcic_dispatcher_filter_errors_total",
      help: "Events a server's filter expression failed on (counted as no match), by server",
      labelNames: ["server"],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: "mcic_dispatcher_dead_letters_total",
      help: "Events dead-lettered, by server",
      labelNames: ["server"],
      registers: [registry],
    }),
  };
}
export type DispatcherMetrics = ReturnType<typeof createDispatcherMetrics>;
