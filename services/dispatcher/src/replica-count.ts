import type { DispatcherPresence, Logger } from "@mcic/core";

/**
 * This replica's heartbeat, and how many dispatcher replicas are alive. The order guard costs
 * Redis round trips, so it is switched on only while more than one replica runs. Each beat also
 * carries the registration revision this replica applied (see RevisionReporter), so the API can
 * tell a live replica that lags from one that is gone.
 */
export class ReplicaCount {
  readonly #presence: DispatcherPresence;
  readonly #id: string;
  readonly #ttlMs: number;
  readonly #applied: () => number | undefined;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #count = 1;

  constructor(options: {
    presence: DispatcherPresence;
    id: string;
    ttlMs: number;
    applied: () => number | undefined;
    logger: Logger;
  }) {
    this.#presence = options.presence;
    this.#id = options.id;
    this.#ttlMs = options.ttlMs;
    this.#applied = options.applied;
    this.#logger = options.logger;
  }

  get many(): boolean {
    return this.#count > 1;
  }

  /** Replicas alive at the last heartbeat, this one included. */
  get count(): number {
    return this.#count;
  }

  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(
      () => {
        this.#beat().catch((err: unknown) =>
          this.#logger.warn({ err: (err as Error).message }, "replica heartbeat failed"),
        );
      },
      Math.max(200, Math.floor(this.#ttlMs / 3)),
    );
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    this.#count = await this.#presence.beat(this.#id, this.#applied());
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#presence.leave(this.#id);
  }
}
