interface Slot<T, R extends object> {
  item: T;
  outcome: R | Error | undefined;
}

export interface OrderedAcksHandler<T, R extends object> {
  /** One item whose ack arrived, called in the order the items were added. */
  applied(item: T, result: R): void;
  /** After each run of `applied` calls, so work per run (a save) is done once. */
  afterRun(): void;
}

/**
 * The window of publishes awaiting their ack. Acks may arrive in any order, but what they mean
 * (the resume point, the known objects) only holds in publish order: an item is applied once it
 * and every item before it are acked. The first failure stops applying: nothing after a gap may
 * move the resume point, so the caller settles and starts again from the last applied.
 * Results are objects because an undefined outcome means the ack is still awaited.
 */
export class OrderedAcks<T, R extends object> {
  readonly #handler: OrderedAcksHandler<T, R>;
  /** Added in order; applied from `#head` on as acks arrive. */
  #slots: Slot<T, R>[] = [];
  #head = 0;
  /** Items whose outcome is still unknown, applied or not. */
  #outstanding = 0;
  #failure: Error | undefined;
  #onApplied: (() => void)[] = [];
  #onQuiet: (() => void)[] = [];
  #generation = 0;

  constructor(handler: OrderedAcksHandler<T, R>) {
    this.#handler = handler;
  }

  /** Items added but not yet applied. */
  get waiting(): number {
    return this.#slots.length - this.#head;
  }

  /** Counts settles: what was started before the last one must not be applied after it. */
  get generation(): number {
    return this.#generation;
  }

  /** Throws the first failure since the last settle. */
  check(): void {
    if (this.#failure) throw this.#failure;
  }

  /** Adds an item whose fate `acked` decides. */
  add(item: T, acked: Promise<R>): void {
    const slot: Slot<T, R> = { item, outcome: undefined };
    this.#slots.push(slot);
    this.#outstanding++;
    acked.then(
      (result) => this.#settled(slot, result),
      (err: unknown) => this.#settled(slot, err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** Resolves when every item so far is applied; throws the first failure. */
  async flush(): Promise<void> {
    if (!this.#failure && this.#head < this.#slots.length) {
      await new Promise<void>((resolve) => this.#onApplied.push(resolve));
    }
    this.check();
  }

  /** Waits for every ack still awaited, then forgets them all: after a failure their outcome no longer matters. */
  async settle(): Promise<void> {
    this.#generation++;
    if (this.#outstanding > 0) await new Promise<void>((resolve) => this.#onQuiet.push(resolve));
    this.#slots = [];
    this.#head = 0;
    this.#failure = undefined;
  }

  #settled(slot: Slot<T, R>, outcome: R | Error): void {
    slot.outcome = outcome;
    this.#outstanding--;
    if (!this.#failure) {
      let applied = false;
      while (this.#head < this.#slots.length) {
        const s = this.#slots[this.#head] as Slot<T, R>;
        if (s.outcome === undefined) break;
        this.#head++;
        if (s.outcome instanceof Error) {
          this.#failure = s.outcome;
          break;
        }
        applied = true;
        this.#handler.applied(s.item, s.outcome);
      }
      if (this.#head === this.#slots.length) {
        this.#slots = [];
        this.#head = 0;
      }
      if (applied) this.#handler.afterRun();
      if (this.#failure || this.#head === this.#slots.length) for (const wake of this.#onApplied.splice(0)) wake();
    }
    if (this.#outstanding === 0) for (const wake of this.#onQuiet.splice(0)) wake();
  }
}
