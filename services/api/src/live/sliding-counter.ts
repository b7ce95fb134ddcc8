/**
 * Counts per key over the last `windowSeconds`, in one-second buckets: adding is O(1) and the
 * memory per key is fixed, however busy the key. Keys not seen for a whole window are forgotten.
 */
export class SlidingCounter {
  readonly #window: number;
  readonly #now: () => number;
  readonly #startedSecond: number;
  readonly #keys = new Map<string, { counts: Uint32Array; lastSecond: number }>();

  constructor(windowSeconds: number, now: () => number = Date.now) {
    this.#window = windowSeconds;
    this.#now = now;
    this.#startedSecond = Math.floor(now() / 1000);
  }

  add(key: string, n = 1): void {
    const second = Math.floor(this.#now() / 1000);
    let entry = this.#keys.get(key);
    if (!entry) {
      entry = { counts: new Uint32Array(this.#window), lastSecond: second };
      this.#keys.set(key, entry);
    }
    this.#advance(entry, second);
    const slot = second % this.#window;
    entry.counts[slot] = (entry.counts[slot] ?? 0) + n;
  }

  /** Seconds the counts cover: the window, or less while the counter is younger than it. */
  coveredSeconds(): number {
    const elapsed = this.#now() / 1000 - this.#startedSecond;
    return Math.max(1, Math.min(this.#window, elapsed));
  }

  /** Sum per key over the window; keys with nothing in it are left out (and forgotten). */
  totals(): Map<string, number> {
    const second = Math.floor(this.#now() / 1000);
    const out = new Map<string, number>();
    for (const [key, entry] of this.#keys) {
      this.#advance(entry, second);
      let sum = 0;
      for (const n of entry.counts) sum += n;
      if (sum === 0) this.#keys.delete(key);
      else out.set(key, sum);
    }
    return out;
  }

  /** Clears the buckets of the seconds between the entry's last use and `second`. */
  #advance(entry: { counts: Uint32Array; lastSecond: number }, second: number): void {
    const gone = Math.min(second - entry.lastSecond, this.#window);
    for (let i = 1; i <= gone; i++) entry.counts[(entry.lastSecond + i) % this.#window] = 0;
    entry.lastSecond = Math.max(entry.lastSecond, second);
  }
}
