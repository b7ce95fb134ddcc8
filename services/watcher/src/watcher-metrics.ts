import { Counter, Gauge, Histogram, type MetricsRegistry } from "@mcic/core";

/** What operators watch on a watcher replica (see docs/operations.md). */
export function createWatcherMetrics(registry: MetricsRegistry) {
  return {
    published: new Counter({
      name: "mcic_watcher_events_published_total",
      help: "Changes stored in JetStream, by cluster, resource and type",
      labelNames: ["cluster", "resource", "type"],
      registers: [registry],
    }),
    duplicates: new Counter({
      name: "mcic_watcher_events_duplicate_total",
      help: "Changes JetStream already had (republished after a restart or by another replica); not stored again",
      labelNames: ["cluster", "resource", "type"],
      registers: [registry],
    }),
    watchRestarts: new Counter({
      name: "mcic_watcher_watch_restarts_total",
      help: "Watch streams that failed and were restarted after back-off",
      labelNames: ["cluster", "resource"],
      registers: [registry],
    }),
    relists: new Counter({
      name: "mcic_watcher_relists_total",
      help: "Full lists (first sync, 410 Gone, lost resume point)",
      labelNames: ["cluster", "resource"],
      registers: [registry],
    }),
    lag: new Histogram({
      name: "mcic_watcher_publish_lag_seconds",
      help: "From receiving a change to JetStream acknowledging it",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    ownedClusters: new Gauge({
      name: "mcic_watcher_owned_clusters",
      help: "Clusters this replica holds the lease of",
      registers: [registry],
    }),
  };
}
export type WatcherMetrics = ReturnType<typeof createWatcherMetrics>;
