/**
 * The HTTP requests under way, per server, so that a replica can tell when the last request to a
 * server it just dropped (deleted, disabled) has finished.
 */
export class InFlightSends {
  readonly #counts = new Map<string, number>();
  readonly #waiters = new Map<string, (() => void)[]>();

  /** Counts `send` as under way for `server` until it settles. */
  async track<T>(server: string, send: Promise<T>): Promise<T> {
    this.#counts.set(server, (this.#counts.get(server) ?? 0) + 1);
    try {
      return await send;
    } finally {
      const left = (this.#counts.get(server) ?? 1) - 1;
      if (left > 0) this.#counts.set(server, left);
      else this.#idle(server);
    }
  }

  #idle(server: string): void {
    this.#counts.delete(server);
    const waiters = this.#waiters.get(server);
    this.#waiters.delete(server);
    for (const wake of waiters ?? []) wake();
  }

  /** How many requests to `server` are under way. */
  count(server: string): number {
    return this.#counts.get(server) ?? 0;
  }

  /** Resolves once no request to any of these servers is under way. */
  async settled(servers: Iterable<string>): Promise<void> {
    const busy = [...servers].filter((s) => this.#counts.has(s));
    await Promise.all(
      busy.map(
        (s) =>
          new Promise<void>((resolve) => {
            const list = this.#waiters.get(s) ?? [];
            list.push(resolve);
            this.#waiters.set(s, list);
          }),
      ),
    );
  }
}
