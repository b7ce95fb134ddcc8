import type { Logger, NatsConnection, Registry, SecretBox, StoredServer, WebhookSender } from "@mcic/core";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { AwaitDispatchers } from "./dispatcher-sync.js";
import type { SnapshotDeps } from "./snapshots.js";

/** What the routes use; createApp builds it from AppDeps. */
export interface RouteDeps {
  registry: Registry;
  box: SecretBox;
  logger: Logger;
  now: () => Date;
  prefix: string;
  nats: NatsConnection;
  js: JetStreamClient;
  sender: WebhookSender;
  /** Snapshot requests and their outcomes (POST /servers/{name}/resync, status.snapshot). */
  snapshot: SnapshotDeps;
  /** How long POST /servers/{name}/resync waits for its clusters' outcomes. */
  snapshotOutcomeWaitMs: number;
  /** After a server registration write: waits until every live dispatcher applied it. */
  awaitDispatchers: AwaitDispatchers;
  /**
   * Asks the watchers for a just-registered server's snapshot; resolves once NATS has the request
   * (answer the client only then: a cluster it registers next must not be snapshotted and listed
   * both), while the replies are collected in the background (failures are logged).
   */
  snapshotInBackground: (server: Pick<StoredServer, "name" | "filters">) => Promise<void>;
}
