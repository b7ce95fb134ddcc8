import { randomUUID } from "node:crypto";
import {
  type Logger,
  type NatsConnection,
  type SnapshotReply,
  SnapshotReplySchema,
  type SnapshotRequest,
  snapshotRequestSubject,
} from "@mcic/core";

export interface SnapshotOutcome {
  requestId: string;
  replies: SnapshotReply[];
}

/**
 * Asks every watcher to snapshot its clusters for one server (NATS core request, many replies):
 * each watcher answers at once with the clusters it will snapshot, then queues the objects for
 * that server in the deliveries stream. Replies are collected for `waitMs`.
 */
export async function requestSnapshot(
  nats: NatsConnection,
  options: { prefix: string; server: string; waitMs: number; logger: Logger },
): Promise<SnapshotOutcome> {
  const request: SnapshotRequest = { requestId: randomUUID(), server: options.server };
  const replies: SnapshotReply[] = [];
  try {
    const answers = await nats.requestMany(snapshotRequestSubject(options.prefix), JSON.stringify(request), {
      strategy: "timer",
      maxWait: options.waitMs,
    });
    for await (const msg of answers) {
      const parsed = SnapshotReplySchema.safeParse(safeJson(msg.string()));
      if (parsed.success) replies.push(parsed.data);
      else options.logger.warn({ requestId: request.requestId }, "ignoring a malformed snapshot reply");
    }
  } catch (err) {
    // Nobody listening is an answer too: no watcher owns anything right now.
    if (!isNoResponders(err)) throw err;
  }
  return { requestId: request.requestId, replies };
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
