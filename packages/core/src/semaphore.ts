/**
 * First in, first out, with O(1) take: Array#shift copies the whole array once it is large, and
 * a burst on thousands of watches can queue tens of thousands of waiters.
 */
class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  take(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

/**
 * At most `limit` holders at once; the rest wait in arrival order. The one counting primitive
 * behind every "so many in flight" bound in mcic.
 */
export class Semaphore {
  readonly #limit: number;
  #held = 0;
  readonly #waiting = new Fifo<() => void>();
  /** Waiting for room without taking a slot (see `room`). */
  readonly #roomWaiting = new Fifo<() => void>();
  #recheck: NodeJS.Immediate | undefined;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get held(): number {
    return this.#held;
  }

  /** How many wait for a slot. */
  get waiting(): number {
    return this.#waiting.size;
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
  room(): undefined | Promise<void> {
    if (this.#held < this.#limit && this.#waiting.size === 0) return undefined;
    return new Promise<void>((resolve) => this.#roomWaiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.take();
    if (next) {
      next();
      return;
    }
    this.#held--;
    this.#wakeRoom();
  }

  /**
   * Wakes as many room waiters as there are free slots. A woken one may not take its slot (it
   * stopped meanwhile): once they all had their turn, look again, so nobody waits for a release
   * that never comes.
   */
  #wakeRoom(): void {
    let woke = false;
    for (let free = this.#limit - this.#held; free > 0 && this.#roomWaiting.size > 0; free--) {
      this.#roomWaiting.take()?.();
      woke = true;
    }
    if (woke && this.#roomWaiting.size > 0 && !this.#recheck) {
      this.#recheck = setImmediate(() => {
        this.#recheck = undefined;
        if (this.#waiting.size === 0) this.#wakeRoom();
      });
    }
  }
}
