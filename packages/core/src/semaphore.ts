/**
 * At most `limit` holders at once; the rest wait in arrival order. The one counting primitive
 * behind every "so many in flight" bound in mcic.
 */
export class Semaphore {
  readonly #limit: number;
  #held = 0;
  // A queue read from `#head`, compacted now and then: Array#shift copies the whole array once it
  // is large, and a burst on thousands of watches can queue tens of thousands of waiters.
  #waiting: (() => void)[] = [];
  #head = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get held(): number {
    return this.#held;
  }

  /** How many wait for a slot. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
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
    if (this.#head === this.#waiting.length) {
      this.#held--;
      return;
    }
    const next = this.#waiting[this.#head] as () => void;
    this.#waiting[this.#head++] = noop;
    if (this.#head === this.#waiting.length) {
      this.#waiting = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
    next();
  }
}

function noop(): void {}
