import type { DispatcherPresence, Logger } from "@mcic/core";
import type { ServerLanes } from "./server-lanes.js";

/** Waiting this long for requests to a dropped server is worth a line in the log. */
const SLOW_DRAIN_MS = 1000;

export interface RevisionReporterOptions {
  presence: DispatcherPresence;
  id: string;
  /** Where requests to servers are under way: a dropped server is confirmed once its last one ended. */
  lanes: Pick<ServerLanes, "inFlight" | "settled">;
  logger: Logger;
}

/**
 * Tells the API, through Redis, which revision of the server registrations this replica's index
 * reflects: the API answers a server change once every live replica reported it. A server the
 * reload dropped is reported gone only once no request to it is still under way, so nothing
 * reaches a deleted server after its DELETE was answered. Reports go out in order, one at a time:
 * revision N also vouches for every change before it.
 */
export class RevisionReporter {
  readonly #o: RevisionReporterOptions;
  #chain: Promise<void> = Promise.resolve();
  #applied: number | undefined;
  #closed = false;

  constructor(options: RevisionReporterOptions) {
    this.#o = options;
  }

  /** The last revision reported, undefined before the first. */
  get applied(): number | undefined {
    return this.#applied;
  }

  /** The index now reflects `revision` and no longer holds the `dropped` servers. */
  report(revision: number, dropped: string[]): void {
    if (this.#closed) return;
    this.#chain = this.#chain.then(async () => {
      try {
        await this.#drain(dropped);
        await this.#o.presence.applied(this.#o.id, revision);
        // Not the maximum: a counter that went back (Redis restored from a backup) is followed.
        this.#applied = revision;
      } catch (err) {
        // The API then waits for this replica until its deadline; the next reload reports again.
        this.#o.logger.warn({ revision, err: (err as Error).message }, "reporting the applied server revision failed");
      }
    });
  }

  /** Resolves once every report made so far went out (or failed and was logged). */
  settled(): Promise<void> {
    return this.#chain;
  }

  /** Takes no more reports (the replica is leaving) and resolves once those made went out. */
  close(): Promise<void> {
    this.#closed = true;
    return this.#chain;
  }

  async #drain(dropped: string[]): Promise<void> {
    const { lanes, logger } = this.#o;
    const busy = dropped.filter((s) => lanes.inFlight(s) > 0);
    if (busy.length === 0) return;
    const slow = setTimeout(
      () => logger.info({ servers: busy }, "waiting for requests to dropped servers before confirming the change"),
      SLOW_DRAIN_MS,
    );
    try {
      await lanes.settled(busy);
    } finally {
      clearTimeout(slow);
    }
  }
}
