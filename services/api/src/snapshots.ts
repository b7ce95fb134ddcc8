import { randomUUID } from "node:crypto";
import {
  type Logger,
  type NatsConnection,
  type Registry,
  type SnapshotClusterOutcome,
  SnapshotReplySchema,
  type SnapshotRequest,
  type SnapshotStatus,
  type SnapshotStatusStore,
  type StoredServer,
  snapshotRequestSubject,
} from "@mcic/core";

/** The reason recorded for a cluster the server's filters allow that no watcher answered for. */
export const NO_WATCHER = "no watcher owns it (not watched right now)";

export interface SnapshotDeps {
  nats: NatsConnection;
  registry: Pick<Registry, "clusterNames">;
  outcomes: SnapshotStatusStore;
  prefix: string;
  /** How long watcher replies are collected. */
  waitMs: number;
  logger: Logger;
  now: () => Date;
}

/**
 * Starts a snapshot for one server: records it as the server's latest (status.snapshot), asks
 * every watcher (NATS core request, many replies, collected for `waitMs`) and records each
 * answered cluster as pending until its watcher records taken or failed. A cluster the filters
 * allow that nobody answered for is failed at once: no watcher will snapshot it for this request.
 * `published` resolves once NATS has the request. Throws when NATS or Redis is unreachable.
 */
export function startSnapshot(
  deps: SnapshotDeps,
  server: Pick<StoredServer, "name" | "filters">,
): { requestId: string; published: Promise<void>; started: Promise<SnapshotStatus> } {
  const request: SnapshotRequest = { requestId: randomUUID(), server: server.name };
  const requestedAt = deps.now().toISOString();
  let sent!: () => void;
  const published = new Promise<void>((resolve) => {
    sent = resolve;
  });
  const started = (async (): Promise<SnapshotStatus> => {
    await deps.outcomes.begin(server.name, request.requestId, requestedAt);
    const answered = await collectReplies(deps, request, sent);
    const at = deps.now().toISOString();
    const wanted = server.filters.clusters?.length ? new Set(server.filters.clusters) : undefined;
    const unowned = (await deps.registry.clusterNames()).filter((c) => (!wanted || wanted.has(c)) && !answered.has(c));
    const record = (o: SnapshotClusterOutcome, onlyIfNew: boolean) =>
      deps.outcomes.record(server.name, request.requestId, o, { onlyIfNew });
    await Promise.all([
      ...[...answered].map((cluster) => record({ cluster, state: "pending", at }, true)),
      ...unowned.map((cluster) => record({ cluster, state: "failed", reason: NO_WATCHER, at }, false)),
    ]);
    return (
      (await ownStatus(deps.outcomes, server.name, request.requestId)) ?? { ...request, requestedAt, clusters: [] }
    );
  })();
  // Settled in any case, also when the request never went out (the caller learns why from `started`).
  void started.then(sent, sent);
  return { requestId: request.requestId, published: published.then(() => deps.nats.flush()), started };
}

/**
 * Waits until no cluster of the snapshot is pending or `waitMs` passed, and answers what is known
 * then. A later snapshot of the same server replacing this one ends the wait.
 */
export async function awaitOutcomes(
  outcomes: SnapshotStatusStore,
  first: SnapshotStatus,
  server: string,
  waitMs: number,
): Promise<SnapshotStatus> {
  const deadline = Date.now() + waitMs;
  let status = first;
  while (status.clusters.some((c) => c.state === "pending") && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = await ownStatus(outcomes, server, first.requestId);
    if (!now) break;
    status = now;
  }
  return status;
}

async function ownStatus(
  outcomes: SnapshotStatusStore,
  server: string,
  requestId: string,
): Promise<SnapshotStatus | undefined> {
  const status = await outcomes.read(server);
  return status?.requestId === requestId ? status : undefined;
}

/** The clusters the watchers answered for. */
async function collectReplies(deps: SnapshotDeps, request: SnapshotRequest, sent: () => void): Promise<Set<string>> {
  const answered = new Set<string>();
  try {
    const answers = await deps.nats.requestMany(snapshotRequestSubject(deps.prefix), JSON.stringify(request), {
      strategy: "timer",
      maxWait: deps.waitMs,
    });
    sent();
    for await (const msg of answers) {
      const parsed = SnapshotReplySchema.safeParse(safeJson(msg.string()));
      if (parsed.success) for (const c of parsed.data.clusters) answered.add(c);
      else deps.logger.warn({ requestId: request.requestId }, "ignoring a malformed snapshot reply");
    }
  } catch (err) {
    // Nobody listening is an answer too: no watcher owns anything right now.
    if (!isNoResponders(err)) throw err;
  }
  return answered;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isNoResponders(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: string };
  return e.name === "NoRespondersError" || e.code === "503" || /no responders/i.test(String(e.message));
}
