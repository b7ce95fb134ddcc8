import type { EventPublisher } from "./event-publisher.js";
import {
  ConnectionSchema,
  type Connection,
  type EgressPolicy,
  type Logger,
  type Redis,
  type Registry,
  type SecretBox,
  type StoredCluster,
  coalesced,
  followChanges,
  sealContext,
} from "@mcic/core";
import { ClusterWatch } from "./cluster-watch.js";
import { type LeaseTable, LeaseUnconfirmedError } from "./lease-table.js";
import { rendezvousOwner } from "./rendezvous.js";
import type { WatcherMetrics } from "./watcher-metrics.js";

export interface SupervisorOptions {
  registry: Registry;
  /** Where the cluster watches keep their resume state. */
  redis: Redis;
  /** A dedicated connection: a Redis connection in subscriber mode can do nothing else. */
  subscriber: Redis;
  box: SecretBox;
  leases: LeaseTable;
  publisher: EventPublisher;
  logger: Logger;
  /** How often leases are renewed and ownership rechecked; a third of the lease TTL. */
  tickMs: number;
  metrics?: WatcherMetrics;
  /** Which addresses cluster API servers may resolve to (default: docs/contract.md's deny list). */
  egress?: EgressPolicy;
  /** Watches of a TLS cluster share one HTTP/2 connection when its API server offers it (WATCH_HTTP2). */
  http2?: boolean;
}

/**
 * Keeps one ClusterWatch running for each registered cluster this replica owns. Ownership: the
 * cluster's rendezvous-hash choice among live replicas, confirmed by a Redis lease renewed every
 * tick. Change notices make registration changes immediate; the tick and a full reload after a
 * Redis reconnect catch anything missed, and move the clusters of replicas that died.
 */
export class ClusterSupervisor {
  readonly #o: SupervisorOptions;
  readonly #running = new Map<string, ClusterWatch>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: SupervisorOptions) {
    this.#o = options;
  }

  get watcherId(): string {
    return this.#o.leases.watcherId;
  }

  async start(): Promise<void> {
    const { subscriber, registry } = this.#o;
    await followChanges(subscriber, registry.keys.changes, this.#o.logger, {
      onNotice: (notice) => {
        if (notice.kind === "cluster") void this.reconcile();
      },
      onReconnect: () => void this.reconcile(),
    });
    await this.reconcile();
    this.#timer = setInterval(() => void this.reconcile(), this.#o.tickMs);
    this.#timer.unref();
  }

  /** Brings running watches in line with Redis; calls during a run coalesce into one more run. */
  readonly reconcile = coalesced(
    () => this.#reconcileOnce(),
    (err) => this.#o.logger.error({ err }, "reconcile failed; retrying at the next notice or tick"),
  );

  /** Names of the clusters this replica watches now. */
  get clusters(): string[] {
    return [...this.#running.keys()];
  }

  /** The running watch of a cluster this replica owns. */
  watchOf(name: string): ClusterWatch | undefined {
    return this.#running.get(name);
  }

  async #reconcileOnce(): Promise<void> {
    if (this.#stopped) return;
    const { leases, registry, logger } = this.#o;
    const live = await leases.heartbeat();
    const desired = new Map((await registry.listClusters()).map((c) => [c.name, c]));
    const me = leases.watcherId;
    const owner = (name: string) => rendezvousOwner(name, live.includes(me) ? live : [...live, me]);

    await Promise.all(
      [...this.#running].map(async ([name, watch]) => {
        const want = desired.get(name);
        let reason: string | undefined;
        if (!want) reason = "deleted";
        else if (want.updatedAt !== watch.cluster.updatedAt) reason = "changed";
        else if (owner(name) !== me) reason = "handed over";
        else if (!(await leases.renew(name))) reason = "lease lost";
        if (!reason) return;
        this.#running.delete(name);
        logger.info({ cluster: name, reason }, "stopping cluster watch");
        await watch.stop();
        if (reason === "lease lost") return;
        if (!want) {
          await registry.forgetClusterState(name);
        } else {
          const dropped = watch.scopes.filter((s) => !want.resources.some((r) => s === r || s.startsWith(`${r}@`)));
          await registry.forgetClusterScopes(name, dropped);
        }
        await leases.release(name);
        if (reason === "handed over") {
          // Tell the new owner now rather than at its next tick.
          await registry.announce({ kind: "cluster", name, op: "updated" });
        }
      }),
    );

    await Promise.all(
      [...desired.values()]
        .filter((c) => !this.#running.has(c.name) && owner(c.name) === me)
        .map(async (c) => {
          if (this.#stopped || !(await leases.acquire(c.name))) return;
          if (!this.#startCluster(c)) await leases.release(c.name);
        }),
    );
    this.#o.metrics?.ownedClusters.set(this.#running.size);
  }

  #startCluster(cluster: StoredCluster): boolean {
    const { registry, leases, logger: parent } = this.#o;
    const logger = parent.child({ cluster: cluster.name });
    let connection: Connection;
    try {
      connection = ConnectionSchema.parse(
        JSON.parse(this.#o.box.open(cluster.credentials, sealContext.clusterCredentials(cluster.name))),
      );
    } catch (err) {
      logger.error({ err: (err as Error).message }, "cannot open stored credentials (wrong MCIC_SECRET_KEY?)");
      for (const resource of cluster.resources) {
        void registry
          .setResourceStatus(cluster.name, {
            resource,
            state: "error",
            message: "stored credentials cannot be decrypted with this MCIC_SECRET_KEY",
            watcherId: leases.watcherId,
          })
          .catch((e: unknown) => logger.warn({ err: (e as Error).message }, "status write failed"));
      }
      return false;
    }
    const { publish, room } = this.#o.publisher;
    const watch = new ClusterWatch({
      cluster,
      connection,
      registry,
      redis: this.#o.redis,
      watcherId: leases.watcherId,
      // The fence: while our lease may have expired, nothing leaves this replica. The watch
      // retries from its last stored change; if the renewal fails, the next tick stops it.
      publish: (e, json) =>
        leases.holds(cluster.name) ? publish(e, json) : Promise.reject(new LeaseUnconfirmedError(cluster.name)),
      room,
      logger,
      ...(this.#o.metrics ? { metrics: this.#o.metrics } : {}),
      ...(this.#o.egress ? { egress: this.#o.egress } : {}),
      http2: this.#o.http2 ?? false,
    });
    this.#running.set(cluster.name, watch);
    watch.start();
    logger.info({ resources: cluster.resources }, "watching cluster");
    return true;
  }

  /** Stops every watch, saves where each resumes, and hands the clusters to the other replicas. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.reconcile();
    const { leases, registry } = this.#o;
    await Promise.all(
      [...this.#running].map(async ([name, watch]) => {
        await watch.stop();
        await leases.release(name);
      }),
    );
    await leases.leave();
    const names = [...this.#running.keys()];
    this.#running.clear();
    for (const name of names) {
      await registry.announce({ kind: "cluster", name, op: "updated" });
    }
  }
}
