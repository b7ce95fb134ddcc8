import { setImmediate } from "node:timers/promises";

/**
 * For a long loop on the event loop (decoding or compiling thousands of records): `maybeYield()`
 * gives other events a turn once `sliceMs` of work have passed since the last one, so deliveries
 * and heartbeats are not held up while it runs.
 */
export class TimeSlicer {
  readonly #sliceMs: number;
  #sliceStart = performance.now();

  constructor(sliceMs = 5) {
    this.#sliceMs = sliceMs;
  }

  async maybeYield(): Promise<void> {
    if (performance.now() - this.#sliceStart < this.#sliceMs) return;
    await setImmediate();
    this.#sliceStart = performance.now();
  }
}
