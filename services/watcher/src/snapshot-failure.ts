import { failureClass } from "@mcic/core";
import { KubeApiError } from "./kube-client.js";

/** A snapshot's objects could not be put in the delivery queue (JetStream refused or was away). */
export class SnapshotQueueError extends Error {
  constructor(cause: unknown) {
    super(`delivery queue unavailable: ${(cause as Error).message}`, { cause });
    this.name = "SnapshotQueueError";
  }
}

/**
 * Why a cluster's snapshot failed, in words fit for the API: the HTTP status of a refused list,
 * or a fixed class of network failure. Never the API server's text or the socket's message, which
 * name addresses and what hosts inside the network say (the reason is shown to API callers).
 */
export function snapshotFailure(resource: string, err: unknown, stopping: boolean): string {
  if (stopping) return "the watcher stopped before the snapshot finished";
  if (err instanceof SnapshotQueueError) return err.message;
  if (err instanceof KubeApiError) return `list of ${resource} failed: HTTP ${err.httpStatus}`;
  return `cluster unreachable: ${failureClass(err)}`;
}
