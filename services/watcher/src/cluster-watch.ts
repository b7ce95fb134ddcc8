import type { Publish, Room } from "./event-publisher.js";
import {
  type Connection,
  type EgressPolicy,
  type Envelope,
  type Logger,
  type Redis,
  type Registry,
  type ResourceRef,
  type ResourceStatus,
  type StoredCluster,
  parseResource,
} from "@mcic/core";
import { KubeClient } from "./kube-client.js";
import { ResourceWatch } from "./resource-watch.js";
import { RateLimiter } from "./rate-limiter.js";
import { ClusterResumeStore } from "./resume-store.js";
import { worstProgress } from "./watch-progress.js";
import type { WatcherMetrics } from "./watcher-metrics.js";

/** One resource of a cluster, listed afresh for a snapshot. */
export interface ResourceSnapshot {
  ref: ResourceRef;
  /** Its objects; `onListVersion` gets each list's resourceVersion (one per namespace scope). */
  objects(signal: AbortSignal, onListVersion: (rv: string) => void): AsyncGenerator<Envelope>;
}

export interface ClusterWatchOptions {
  cluster: StoredCluster;
  connection: Connection;
  registry: Registry;
  /** Where the resume state is kept. */
  redis: Redis;
  watcherId: string;
  publish: Publish;
  /** Asked before each publish; a promise pauses the watch until it resolves. */
  room?: Room;
  logger: Logger;
  statusIntervalMs?: number;
  metrics?: WatcherMetrics;
  /** Requests per second to this cluster's API server (bursts of twice that). */
  requestsPerSecond?: number;
  /** Which addresses the API server may resolve to (default: docs/contract.md's deny list). */
  egress?: EgressPolicy;
  /** See KubeClient's `http2`. */
  http2?: boolean;
}

/**
 * All watches of one cluster: one per resource, or per resource and namespace when the cluster is
 * limited to namespaces (so namespace-scoped RBAC is enough). Writes their status to Redis.
 */
export class ClusterWatch {
  readonly cluster: StoredCluster;
  readonly #client: KubeClient;
  readonly #watches = new Map<string, ResourceWatch[]>();
  readonly #o: ClusterWatchOptions;
  #timer: NodeJS.Timeout | undefined;
  #written = new Map<string, string>();
  readonly #scopes: string[] = [];
  readonly #resume: ClusterResumeStore;

  constructor(options: ClusterWatchOptions) {
    this.#o = options;
    this.cluster = options.cluster;
    const rate = options.requestsPerSecond ?? 20;
    this.#client = new KubeClient(
      options.connection,
      new RateLimiter(rate, rate * 2),
      options.egress,
      {},
      options.http2,
    );
    const { cluster, logger } = options;
    const resume = new ClusterResumeStore({
      redis: options.redis,
      keys: options.registry.keys,
      cluster: cluster.name,
      watcherId: options.watcherId,
      fingerprint: options.connection.server,
    });
    this.#resume = resume;
    const scopes: (string | undefined)[] = cluster.namespaces?.length ? cluster.namespaces : [undefined];
    for (const resource of cluster.resources) {
      const ref = parseResource(resource);
      this.#watches.set(
        resource,
        scopes.map((namespace) => {
          const scope = namespace ? `${resource}@${namespace}` : resource;
          this.#scopes.push(scope);
          return new ResourceWatch({
            cluster: cluster.name,
            client: this.#client,
            ref,
            ...(namespace ? { namespace } : {}),
            ...(cluster.labelSelector ? { labelSelector: cluster.labelSelector } : {}),
            publish: options.publish,
            ...(options.room ? { room: options.room } : {}),
            store: resume.scope(scope),
            onProgress: () => this.#writeStatus(resource),
            ...(options.metrics ? { metrics: options.metrics } : {}),
            logger: logger.child({ resource, ...(namespace ? { namespace } : {}) }),
          });
        }),
      );
    }
  }

  /** Per resource, every object the cluster's watches cover, as it is now (see ResourceWatch.current). */
  snapshotSources(): ResourceSnapshot[] {
    return [...this.#watches].map(([resource, list]) => ({
      ref: parseResource(resource),
      async *objects(signal: AbortSignal, onListVersion: (rv: string) => void) {
        for (const w of list) yield* w.current(signal, onListVersion);
      },
    }));
  }

  /** Resume-state names of this cluster's watches: `resource` or `resource@namespace`. */
  get scopes(): string[] {
    return this.#scopes;
  }

  start(): void {
    for (const list of this.#watches.values()) for (const w of list) w.start();
    this.#timer = setInterval(() => {
      for (const resource of this.#watches.keys()) this.#writeStatus(resource);
    }, this.#o.statusIntervalMs ?? 2000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    // The next owner resumes from what is saved: no batching delay from here on.
    this.#resume.hurry();
    await Promise.all([...this.#watches.values()].flat().map((w) => w.stop()));
    await this.#client.close();
  }

  /** The worst state over a resource's namespaces stands for the resource. */
  #status(resource: string): ResourceStatus {
    const progress = (this.#watches.get(resource) ?? []).map((w) => w.progress);
    const worst = worstProgress(progress);
    const status: ResourceStatus = { resource, state: worst.state, watcherId: this.#o.watcherId };
    if (worst.message) status.message = worst.message;
    if (progress.length === 1 && worst.resourceVersion) status.resourceVersion = worst.resourceVersion;
    const last = progress
      .map((p) => p.lastEventAt ?? "")
      .sort()
      .at(-1);
    if (last) status.lastEventAt = last;
    return status;
  }

  #writeStatus(resource: string): void {
    const status = this.#status(resource);
    const json = JSON.stringify(status);
    if (this.#written.get(resource) === json) return;
    this.#written.set(resource, json);
    this.#o.registry.setResourceStatus(this.cluster.name, status).catch((err: unknown) => {
      this.#written.delete(resource);
      this.#o.logger.warn({ err: (err as Error).message, resource }, "status write failed");
    });
  }
}
