import { sleep } from "./backoff.js";

/**
 * Token bucket: `ratePerSecond` requests on average, bursts up to `burst`. One per cluster, so
 * mcic never floods an API server, however many resources and namespaces it watches there.
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(ratePerSecond: number, burst: number, now: () => number = () => performance.now()) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#last = now();
  }

  /** Milliseconds until a token is free, taking it now when one is. */
  tryTake(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) * this.#rate) / 1000);
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) * 1000) / this.#rate);
  }

  async take(signal?: AbortSignal): Promise<void> {
    for (let wait = this.tryTake(); wait > 0 && !signal?.aborted; wait = this.tryTake()) await sleep(wait, signal);
  }
}
