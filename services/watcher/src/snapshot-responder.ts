import {
  type DeliveryRequest,
  type Logger,
  type NatsConnection,
  type Registry,
  type SecretBox,
  SnapshotRequestSchema,
  compileFilters,
  deliverySubject,
  sealSecretValues,
  snapshotRequestSubject,
} from "@mcic/core";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Subscription } from "@nats-io/transport-node";
import type { ClusterSupervisor } from "./cluster-supervisor.js";

export interface SnapshotResponderOptions {
  nats: NatsConnection;
  js: JetStreamClient;
  prefix: string;
  registry: Registry;
  supervisor: ClusterSupervisor;
  /** Seals Secret values before they go into the delivery queue (on disk). */
  box: SecretBox;
  logger: Logger;
}

/**
 * Answers snapshot requests (a server registered with `snapshot: true`, or `POST .../resync`):
 * every watcher replies at once with the clusters it owns that the server's filters allow, then
 * lists them afresh and queues each matching object for that server alone, as ADDED with
 * `snapshot: true`, in the durable per-server delivery queue. See docs/design.md.
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
        let request: ReturnType<typeof SnapshotRequestSchema.parse>;
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

  async #answer(
    request: { requestId: string; server: string },
    owned: readonly string[],
    reply: (r: object) => void,
  ): Promise<void> {
    const { registry, supervisor, logger, js, prefix, box } = this.#o;
    const server = await registry.getServer(request.server);
    if (!server) {
      reply({ watcherId: supervisor.watcherId, clusters: [] });
      return;
    }
    const matches = compileFilters(server.filters, {
      onExpressionError: (err, e) =>
        logger.debug(
          { server: server.name, object: e.name, err: err.message },
          "filter expression failed; object not sent",
        ),
    });
    const wanted = server.filters.clusters?.length ? new Set(server.filters.clusters) : undefined;
    const clusters = owned.filter((c) => !wanted || wanted.has(c));
    reply({ watcherId: supervisor.watcherId, clusters });
    const log = logger.child({ server: request.server, requestId: request.requestId });
    let queued = 0;
    const now = new Date().toISOString();
    for (const name of clusters) {
      const watch = supervisor.watchOf(name);
      if (!watch) continue;
      const publishes: Promise<unknown>[] = [];
      for await (const envelope of watch.snapshot(this.#abort.signal)) {
        if (!matches(envelope)) continue;
        const req: DeliveryRequest = {
          server: request.server,
          envelope: sealSecretValues(envelope, box),
          attempt: 1,
          firstAttemptAt: now,
          notBefore: now,
          reason: "snapshot",
        };
        publishes.push(
          js.publish(deliverySubject(prefix, request.server), JSON.stringify(req), {
            msgID: `snapshot/${request.requestId}/${envelope.uid}`,
          }),
        );
        queued++;
      }
      await Promise.all(publishes);
    }
    if (queued > 0) await registry.addPending(request.server, queued);
    log.info({ clusters, objects: queued }, "snapshot queued");
  }

  async stop(): Promise<void> {
    this.#sub?.unsubscribe();
    this.#abort.abort();
    await Promise.all(this.#running);
  }
}
