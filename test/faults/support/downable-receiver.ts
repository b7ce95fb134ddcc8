import { type Receiver, startReceiver } from "@mcic/core/testing";

/**
 * A receiver that can go down (its port refuses connections, as a crashed server's does) and come
 * back on the same port, so the URL registered for it stays right. What each incarnation accepted
 * is kept.
 */
export class DownableReceiver {
  readonly name: string;
  readonly url: string;
  readonly #port: number;
  #current: Receiver | undefined;
  readonly #earlier: unknown[] = [];
  readonly #earlierArrivals: { at: number; body: string }[] = [];

  private constructor(name: string, receiver: Receiver) {
    this.name = name;
    this.#current = receiver;
    this.url = receiver.url;
    this.#port = Number(new URL(receiver.url).port);
  }

  static async start(name: string): Promise<DownableReceiver> {
    return new DownableReceiver(name, await startReceiver());
  }

  get isUp(): boolean {
    return this.#current !== undefined;
  }

  async down(): Promise<void> {
    const r = this.#current;
    if (!r) return;
    this.#current = undefined;
    this.#earlier.push(...r.delivered());
    this.#earlierArrivals.push(...r.requests);
    await r.close();
  }

  async up(): Promise<void> {
    if (this.#current) return;
    this.#current = await startReceiver({ port: this.#port });
  }

  /** Parsed bodies of every request answered 2xx, over all incarnations. */
  delivered(): unknown[] {
    return [...this.#earlier, ...(this.#current?.delivered() ?? [])];
  }

  /** Every request received (all answered 2xx: a down receiver refuses connections instead). */
  arrivals(): { at: number; body: string }[] {
    return [...this.#earlierArrivals, ...(this.#current?.requests ?? [])];
  }

  close(): Promise<void> {
    return this.down();
  }
}
