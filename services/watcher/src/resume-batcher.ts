import type { KnownObject, ScopeStore } from "./resume-store.js";

/**
 * The resume state of one watch not yet saved: object changes applied since the last save, and
 * whether the resume point moved. At most one save is in flight; the next carries everything
 * applied meanwhile, and the store gathers the saves of all the cluster's watches into one write
 * (see ClusterResumeStore).
 */
export class ResumeBatcher {
  readonly #store: ScopeStore;
  /** The resume point now: the resourceVersion whose events are all stored. */
  readonly #point: () => string | undefined;
  readonly #onError: (err: Error) => void;
  #set = new Map<string, KnownObject>();
  #del = new Set<string>();
  #saving: Promise<void> | undefined;
  #queued = false;
  #savedPoint: string | undefined;

  /** `onError`: a save scheduled in the background failed (its changes wait for the next). */
  constructor(store: ScopeStore, point: () => string | undefined, onError: (err: Error) => void) {
    this.#store = store;
    this.#point = point;
    this.#onError = onError;
  }

  /** The object is stored as `known` now. */
  known(uid: string, known: KnownObject): void {
    this.#set.set(uid, known);
    this.#del.delete(uid);
  }

  /** The object's deletion is stored. */
  deleted(uid: string): void {
    this.#set.delete(uid);
    this.#del.add(uid);
  }

  /** Saves at the end of this turn, so every change of the turn goes in one save. */
  schedule(): void {
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      this.save().catch((err: unknown) => this.#onError(err instanceof Error ? err : new Error(String(err))));
    });
  }

  /**
   * `now`: write without waiting for the cluster's batch. The first resume point goes at once:
   * without one, a restart could only relist and call everything new; and so does the last, at stop.
   */
  async save(now = this.#savedPoint === undefined): Promise<void> {
    while (this.#saving) await this.#saving;
    const point = this.#point();
    if (point === undefined || (this.#set.size === 0 && this.#del.size === 0 && this.#savedPoint === point)) return;
    const set = this.#set;
    const del = this.#del;
    this.#set = new Map();
    this.#del = new Set();
    this.#saving = this.#store.save(set, del, point, now).then(
      () => {
        this.#savedPoint = point;
      },
      (err: unknown) => {
        // Put the changes back (newer ones win) so the next save carries them.
        for (const [uid, k] of set) if (!this.#set.has(uid) && !this.#del.has(uid)) this.#set.set(uid, k);
        for (const uid of del) if (!this.#set.has(uid)) this.#del.add(uid);
        throw err;
      },
    );
    try {
      await this.#saving;
    } finally {
      this.#saving = undefined;
    }
  }
}
