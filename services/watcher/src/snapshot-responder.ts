import {
  type DeliveryRequest,
  type Envelope,
  type Logger,
  type NatsConnection,
  type Registry,
  type SecretBox,
  type SnapshotClusterOutcome,
  SnapshotRequestSchema,
  type SnapshotStatusStore,
  type StoredServer,
  allowsResource,
  compileFilters,
  deliverySubject,
  sealSecretValues,
  snapshotCompletedEnvelope,
  snapshotRequestSubject,
} from "@mcic/core";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Subscription } from "@nats-io/transport-node";
import type { ResourceSnapshot } from "./cluster-watch.js";
import type { ClusterSupervisor } from "./cluster-supervisor.js";
import { SnapshotQueueError, snapshotFailure } from "./snapshot-failure.js";

export interface SnapshotResponderOptions {
  nats: NatsConnection;
  js: JetStreamClient;
  prefix: string;
  registry: Registry;
  supervisor: ClusterSupervisor;
  /** Where each cluster's outcome is recorded for the API (status.snapshot of the server). */
  outcomes: SnapshotStatusStore;
  /** Seals Secret values before they go into the delivery queue (on disk). */
  box: SecretBox;
  logger: Logger;
}

interface Request {
  requestId: string;
  server: string;
}

/**
 * Answers snapshot requests (a server registered with `snapshot: true`, or `POST .../resync`):
 * every watcher replies at once with the clusters it owns that the server's filters allow, then
 * lists them afresh and queues each matching object for that server alone, as ADDED with
 * `snapshot: true` and the request's id, in the durable per-server delivery queue; each
 * (cluster, resource) ends with a completed notice, and each cluster's outcome (taken or failed,
 * and why) is recorded for the server's status. See docs/design.md.
 */
export class SnapshotResponder {
  readonly #o: SnapshotResponderOptions;
  #sub: Subscription | undefined;
  readonly #abort = new AbortController();
  readonly #running = new Set<Promise<void>>();

  constructor(options: SnapshotResponderOptions) {
    this.#o = options;
  }

  start(): void {
    this.#sub = this.#o.nats.subscribe(snapshotRequestSubject(this.#o.prefix), {
      callback: (err, msg) => {
        if (err) {
          this.#o.logger.warn({ err: err.message }, "snapshot subscription error");
          return;
        }
        let request: Request;
        try {
          request = SnapshotRequestSchema.parse(msg.json());
        } catch (e) {
          this.#o.logger.warn({ err: (e as Error).message }, "ignoring malformed snapshot request");
          return;
        }
        // The clusters held when the request arrived, not after the lookups below: a cluster taken
        // meanwhile was listed from scratch for every server, so snapshotting it too would send
        // each of its objects twice.
        const owned = [...this.#o.supervisor.clusters];
        const work = this.#answer(request, owned, (reply) => msg.respond(JSON.stringify(reply))).catch((e: unknown) =>
          this.#o.logger.error({ err: e, server: request.server, requestId: request.requestId }, "snapshot failed"),
        );
        this.#running.add(work);
        void work.then(() => this.#running.delete(work));
      },
    });
  }

  async #answer(request: Request, owned: readonly string[], reply: (r: object) => void): Promise<void> {
    const { registry, supervisor, logger } = this.#o;
    const server = await registry.getServer(request.server);
    if (!server) {
      reply({ watcherId: supervisor.watcherId, clusters: [] });
      return;
    }
    const wanted = server.filters.clusters?.length ? new Set(server.filters.clusters) : undefined;
    const clusters = owned.filter((c) => !wanted || wanted.has(c));
    reply({ watcherId: supervisor.watcherId, clusters });
    const log = logger.child({ server: request.server, requestId: request.requestId });
    for (const name of clusters) {
      const outcome = await this.#cluster(request, server, name, log);
      log.info({ cluster: name, state: outcome.state, objects: outcome.objects }, "snapshot outcome");
      await this.#o.outcomes.record(request.server, request.requestId, outcome).catch((err: unknown) => {
        log.warn({ cluster: name, err: (err as Error).message }, "recording a snapshot outcome failed");
      });
    }
  }

  /** Snapshots every resource of one cluster the server's filters allow; never throws. */
  async #cluster(request: Request, server: StoredServer, name: string, log: Logger): Promise<SnapshotClusterOutcome> {
    const watch = this.#o.supervisor.watchOf(name);
    if (!watch) {
      return { cluster: name, state: "failed", reason: "watch not ready: no longer held", at: now() };
    }
    let objects = 0;
    let reason: string | undefined;
    for (const source of watch.snapshotSources()) {
      if (!allowsResource(server.filters, { cluster: name, ...source.ref })) continue;
      try {
        objects += await this.#resource(request, server, name, source);
      } catch (err) {
        const stopping = this.#abort.signal.aborted;
        reason ??= snapshotFailure(source.ref.resource, err, stopping);
        log.warn({ cluster: name, resource: source.ref.resource, err: (err as Error).message }, "snapshot list failed");
        if (stopping) break;
      }
    }
    return reason === undefined
      ? { cluster: name, state: "taken", objects, at: now() }
      : { cluster: name, state: "failed", reason, at: now() };
  }

  /** Queues one resource's matching objects, then its completed notice; the number of objects. */
  async #resource(request: Request, server: StoredServer, cluster: string, source: ResourceSnapshot): Promise<number> {
    const { js, prefix, box } = this.#o;
    const matches = compileFilters(server.filters, {
      onExpressionError: (err, e) =>
        this.#o.logger.debug(
          { server: server.name, object: e.name, err: err.message },
          "filter expression failed; object not sent",
        ),
    });
    const subject = deliverySubject(prefix, request.server);
    const at = now();
    const queue = (envelope: Envelope, msgID: string) => {
      const req: DeliveryRequest = {
        server: request.server,
        envelope,
        attempt: 1,
        firstAttemptAt: at,
        notBefore: at,
        reason: "snapshot",
      };
      return js.publish(subject, JSON.stringify(req), { msgID });
    };
    const publishes: Promise<unknown>[] = [];
    // Lists of several namespaces: the oldest is the point in time before which nothing is missed.
    let listVersion: string | undefined;
    const onListVersion = (rv: string) => {
      if (listVersion === undefined || olderVersion(rv, listVersion)) listVersion = rv;
    };
    let count = 0;
    for await (const envelope of source.objects(this.#abort.signal, onListVersion)) {
      if (!matches(envelope)) continue;
      const sealed = { ...sealSecretValues(envelope, box), requestId: request.requestId };
      publishes.push(queue(sealed, `snapshot/${request.requestId}/${envelope.uid}`));
      count++;
    }
    const { group, version, resource } = source.ref;
    const notice = snapshotCompletedEnvelope(
      { cluster, group, version, resource, requestId: request.requestId, count, resourceVersion: listVersion ?? "0" },
      now(),
    );
    publishes.push(queue(notice, notice.id));
    await Promise.all(publishes).catch((err: unknown) => {
      throw new SnapshotQueueError(err);
    });
    return count;
  }

  async stop(): Promise<void> {
    this.#sub?.unsubscribe();
    this.#abort.abort();
    await Promise.all(this.#running);
  }
}

function now(): string {
  return new Date().toISOString();
}

/** Integer resourceVersions (etcd's) compare as numbers; others keep the first seen. */
function olderVersion(a: string, b: string): boolean {
  return /^\d+$/.test(a) && /^\d+$/.test(b) && BigInt(a) < BigInt(b);
}
