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
  /** Waiting for room without taking a slot (see `room`); woken one per freed slot. */
  #roomWaiting: (() => void)[] = [];

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

  /** Takes a slot if one is free, without waiting (and without a promise). */
  tryAcquire(): boolean {
    if (this.#held >= this.#limit) return false;
    this.#held++;
    return true;
  }

  async acquire(): Promise<void> {
    if (this.#held < this.#limit) {
      this.#held++;
      return;
    }
    // The releaser hands its slot straight over, so `held` never dips below the limit in between.
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /**
   * Undefined while a slot is free; otherwise resolves when one frees up, without taking it.
   * Lets a producer stop reading its input instead of queueing work in memory; one waiter is
   * woken per freed slot, so a thousand paused producers do not all resume at once.
   */
  #recheck: NodeJS.Immediate | undefined;

  /**
   * Wakes as many room waiters as there are free slots. A woken one may not take its slot (it
   * stopped meanwhile): once they all had their turn, look again, so nobody waits for a release
   * that never comes.
   */
  #wakeRoom(): void {
    let woke = false;
    for (let free = this.#limit - this.#held; free > 0 && this.#roomWaiting.length > 0; free--) {
      this.#roomWaiting.shift()?.();
      woke = true;
    }
    if (woke && this.#roomWaiting.length > 0 && !this.#recheck) {
      this.#recheck = setImmediate(() => {
        this.#recheck = undefined;
        if (this.#head === this.#waiting.length) this.#wakeRoom();
      });
    }
  }

  room(): undefined | Promise<void> {
    if (this.#held < this.#limit && this.#head === this.#waiting.length) return undefined;
    return new Promise<void>((resolve) => this.#roomWaiting.push(resolve));
  }

  release(): void {
    if (this.#head === this.#waiting.length) {
      this.#held--;
      this.#wakeRoom();
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
