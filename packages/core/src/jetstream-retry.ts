import { JetStreamApiError } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";
import type { Logger } from "./logger.js";

export interface JetStreamRetryOptions {
  /** Where each retry is reported, naming `what`. */
  logger?: Logger;
  /** How long to keep trying (default 60 s). */
  timeoutMs?: number;
}

/**
 * JetStream could not answer now: no meta or stream leader yet, or (nats-server 2.9 on a cluster)
 * a create or update left unanswered because another one for the same asset was in flight, which
 * is what replicas starting together send. Asking again can work.
 */
export function isJetStreamUnavailable(err: unknown): boolean {
  return err instanceof errors.TimeoutError || (err instanceof JetStreamApiError && err.status === 503);
}

/** Runs `fn` until it succeeds, retrying with back-off while JetStream is unavailable, up to a deadline. */
export async function retryWhileUnavailable<T>(
  what: string,
  fn: () => Promise<T>,
  options: JetStreamRetryOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const delay = Math.min(2_000, 100 * 2 ** attempt);
      if (!isJetStreamUnavailable(err) || Date.now() + delay > deadline) throw err;
      options.logger?.warn({ what, err: (err as Error).message, retryInMs: delay }, "JetStream not ready; retrying");
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
