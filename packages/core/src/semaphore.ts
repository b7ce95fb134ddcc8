/**
 * At most `limit` holders at once; the rest wait in arrival order. The one counting primitive
 * behind every "so many in flight" bound in mcic.
 */
export class Semaphore {
  readonly #limit: number;
  #held = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  get held(): number {
    return this.#held;
  }

  async acquire(): Promise<void> {
    if (this.#held < this.#limit) {
      this.#held++;
      return;
    }
    // The releaser hands its slot straight over, so `held` never dips below the limit in between.
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#held--;
  }
}
