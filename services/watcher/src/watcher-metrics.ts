import { Counter, type EventType, Gauge, Histogram, type MetricsRegistry } from "@mcic/core";

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
    publishResends: new Counter({
      name: "mcic_watcher_publish_resends_total",
      help: "Changes sent to JetStream again, same Nats-Msg-Id, because it refused them (no stream leader) or did not answer",
      labelNames: ["reason"],
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

/** The metrics of one watch, its label sets resolved once: prom-client hashes a label object on every call. */
export class WatchMetrics {
  readonly #metrics: WatcherMetrics;
  readonly #labels: { cluster: string; resource: string };
  readonly #counters = new Map<string, { inc(): void }>();

  constructor(metrics: WatcherMetrics, cluster: string, resource: string) {
    this.#metrics = metrics;
    this.#labels = { cluster, resource };
  }

  /** A change is stored in JetStream; `started`: performance.now() when it was received. */
  stored(type: EventType, duplicate: boolean, started: number): void {
    const name = duplicate ? "duplicates" : "published";
    const key = `${name}/${type}`;
    let child = this.#counters.get(key);
    if (!child) {
      child = this.#metrics[name].labels(this.#labels.cluster, this.#labels.resource, type);
      this.#counters.set(key, child);
    }
    child.inc();
    this.#metrics.lag.observe((performance.now() - started) / 1000);
  }

  relisted(): void {
    this.#metrics.relists.inc(this.#labels);
  }

  restarted(): void {
    this.#metrics.watchRestarts.inc(this.#labels);
  }
}
