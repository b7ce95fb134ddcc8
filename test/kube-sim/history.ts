import type { KubeObject } from "./kube-object.js";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

/** One write, kept so watches can resume after it and paged lists can see the state before it. */
export interface Change {
  rv: number;
  /** resourceKey() of the resource written. */
  resource: string;
  type: EventType;
  object: KubeObject;
  /** The stored object this change replaced or removed: what undoing it restores. */
  prev: KubeObject | undefined;
}

/**
 * The last `limit` changes of one cluster, oldest first, in a fixed-size ring so a busy cluster
 * neither grows nor shifts an array on every write. Stored objects are never mutated, so keeping
 * references costs no copies.
 */
export class History {
  #ring: Change[] = [];
  #head = 0;
  /** Every change with a greater resourceVersion is still here; resuming from older is 410. */
  #compactedRv = 0;

  constructor(readonly limit: number) {}

  get compactedRv(): number {
    return this.#compactedRv;
  }

  push(change: Change): void {
    if (this.limit <= 0) {
      this.#compactedRv = change.rv;
    } else if (this.#ring.length < this.limit) {
      this.#ring.push(change);
    } else {
      this.#compactedRv = (this.#ring[this.#head] as Change).rv;
      this.#ring[this.#head] = change;
      this.#head = (this.#head + 1) % this.limit;
    }
  }

  /** Forgets everything up to `rv`, as etcd compaction does. */
  compact(rv: number): void {
    this.#ring = [];
    this.#head = 0;
    this.#compactedRv = rv;
  }

  /** Changes after `rv`, oldest first; undefined when some of them are no longer kept. */
  since(rv: number): Change[] | undefined {
    if (rv < this.#compactedRv) return undefined;
    const n = this.#ring.length;
    const at = (i: number) => this.#ring[(this.#head + i) % n] as Change;
    // Resource versions only grow, so the first change after `rv` can be found by bisection.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (at(mid).rv > rv) hi = mid;
      else lo = mid + 1;
    }
    const out: Change[] = [];
    for (let i = lo; i < n; i++) out.push(at(i));
    return out;
  }
}
