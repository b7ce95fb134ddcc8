import {
  ConnectionSchema,
  type Envelope,
  type Logger,
  type Redis,
  type Registry,
  type SecretBox,
  type StoredCluster,
  parseChangeNotice,
} from "@mcic/core";
import { ClusterWatch } from "./cluster-watch.js";

export interface SupervisorOptions {
  registry: Registry;
  /** A dedicated connection: a Redis connection in subscriber mode can do nothing else. */
  subscriber: Redis;
  box: SecretBox;
  watcherId: string;
  publish: (e: Envelope) => Promise<void>;
  logger: Logger;
  reconcileIntervalMs?: number;
}

/**
 * Keeps one ClusterWatch running per registered cluster: started on registration, restarted when
 * the registration changes, stopped on deletion. Change notices make that immediate; a periodic
 * reconcile and a full reload after a Redis reconnect catch any notice that was missed.
 */
export class ClusterSupervisor {
  readonly #o: SupervisorOptions;
  readonly #running = new Map<string, ClusterWatch>();
  #timer: NodeJS.Timeout | undefined;
  #reconciling: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(options: SupervisorOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {
    const { subscriber, registry, logger } = this.#o;
    subscriber.on("message", (channel: string, text: string) => {
      if (channel !== registry.keys.changes) return;
      const notice = parseChangeNotice(text);
      if (!notice) {
        logger.warn({ channel }, "ignoring malformed change notice");
        return;
      }
      if (notice.kind === "cluster") this.reconcile();
    });
    // After a reconnect notices may have been missed: reload everything.
    subscriber.on("ready", () => this.reconcile());
    await subscriber.subscribe(registry.keys.changes);
    await this.reconcile();
    this.#timer = setInterval(() => this.reconcile(), this.#o.reconcileIntervalMs ?? 30_000);
    this.#timer.unref();
  }

  /** Brings running watches in line with Redis; calls during a run coalesce into one more run. */
  reconcile(): Promise<void> {
    if (this.#reconciling) {
      this.#again = true;
      return this.#reconciling;
    }
    this.#reconciling = (async () => {
      do {
        this.#again = false;
        try {
          await this.#reconcileOnce();
        } catch (err) {
          this.#o.logger.error({ err }, "reconcile failed; retrying at the next notice or interval");
        }
      } while (this.#again && !this.#stopped);
      this.#reconciling = undefined;
    })();
    return this.#reconciling;
  }

  get clusters(): string[] {
    return [...this.#running.keys()];
  }

  async #reconcileOnce(): Promise<void> {
    if (this.#stopped) return;
    const desired = new Map((await this.#o.registry.listClusters()).map((c) => [c.name, c]));
    const work: Promise<void>[] = [];
    for (const [name, watch] of this.#running) {
      const want = desired.get(name);
      if (want && want.updatedAt === watch.cluster.updatedAt) continue;
      this.#running.delete(name);
      work.push(
        watch.stop().then(async () => {
          if (!want) await this.#o.registry.redis.del(this.#o.registry.keys.clusterStatus(name));
        }),
      );
    }
    await Promise.all(work);
    for (const [name, cluster] of desired) {
      if (!this.#running.has(name)) this.#startCluster(cluster);
    }
  }

  #startCluster(cluster: StoredCluster): void {
    const logger = this.#o.logger.child({ cluster: cluster.name });
    let connection: ReturnType<typeof ConnectionSchema.parse>;
    try {
      connection = ConnectionSchema.parse(JSON.parse(this.#o.box.open(cluster.credentials)));
    } catch (err) {
      logger.error({ err: (err as Error).message }, "cannot open stored credentials (wrong MCIC_SECRET_KEY?)");
      for (const resource of cluster.resources) {
        void this.#o.registry
          .setResourceStatus(cluster.name, {
            resource,
            state: "error",
            message: "stored credentials cannot be decrypted with this MCIC_SECRET_KEY",
            watcherId: this.#o.watcherId,
          })
          .catch((e: unknown) => logger.warn({ err: (e as Error).message }, "status write failed"));
      }
      return;
    }
    const watch = new ClusterWatch({
      cluster,
      connection,
      registry: this.#o.registry,
      watcherId: this.#o.watcherId,
      publish: this.#o.publish,
      logger,
    });
    this.#running.set(cluster.name, watch);
    watch.start();
    logger.info({ resources: cluster.resources }, "watching cluster");
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#reconciling;
    await Promise.all([...this.#running.values()].map((w) => w.stop()));
    this.#running.clear();
  }
}
