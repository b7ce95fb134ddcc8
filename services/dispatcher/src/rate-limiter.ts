import type { RateLimit } from "@mcic/core";

export interface RateLimiterOptions {
  /** Dispatcher replicas alive now: each takes an equal share of every server's rate. */
  replicas: () => number;
  /** Told of each delivery that has to wait for its slot (a metric). */
  onDelayed?: (server: string) => void;
  now?: () => number;
}

/**
 * A server's `rateLimit`, per replica: each of N replicas sends at most perSecond/N a second, with
 * bursts of burst/N (at least 1). Kept in memory as a generic cell rate algorithm (one number per
 * server, the theoretical time of the next send), so the hot path asks nothing of Redis. A
 * delivery is given a slot, never refused: the caller sends it then, parking it in the durable
 * queue meanwhile.
 */
export class RateLimiter {
  readonly #o: Required<Omit<RateLimiterOptions, "onDelayed">> & Pick<RateLimiterOptions, "onDelayed">;
  /** Per server: when the next send would be due if no burst were allowed (ms). */
  readonly #next = new Map<string, number>();

  constructor(options: RateLimiterOptions) {
    this.#o = { now: () => Date.now(), ...options };
  }

  /** Reserves the next slot for a delivery to `server` and answers how many ms away it is (0: now). */
  reserve(server: string, limit: RateLimit | undefined): number {
    if (!limit) return 0;
    const replicas = Math.max(1, this.#o.replicas());
    const interval = (1000 * replicas) / limit.perSecond;
    const burst = Math.max(1, Math.floor((limit.burst ?? 1) / replicas));
    const now = this.#o.now();
    const next = Math.max(this.#next.get(server) ?? now, now);
    const at = Math.max(now, next - (burst - 1) * interval);
    this.#next.set(server, next + interval);
    const wait = Math.ceil(at - now);
    if (wait > 0) this.#o.onDelayed?.(server);
    return wait;
  }

  /** Forgets servers no longer registered. */
  retain(servers: Iterable<string>): void {
    const keep = new Set(servers);
    for (const name of this.#next.keys()) if (!keep.has(name)) this.#next.delete(name);
  }
}
