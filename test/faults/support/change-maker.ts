import type { SimCluster } from "../../kube-sim/index.js";

/**
 * Makes changes in a kube-sim cluster, one new Ingress per change, so that every change is one
 * object and nothing can legitimately be coalesced: each must reach every server.
 */
export class ChangeMaker {
  /** Names of the objects made, in order. */
  readonly made: string[] = [];
  /** When each object was made (ms since the epoch), by name. */
  readonly madeAt = new Map<string, number>();
  readonly #cluster: SimCluster;
  readonly #prefix: string;
  #timer: NodeJS.Timeout | undefined;

  constructor(cluster: SimCluster, prefix: string) {
    this.#cluster = cluster;
    this.#prefix = prefix;
  }

  /** Creates `count` objects now. */
  create(count: number): void {
    for (let i = 0; i < count; i++) {
      const name = `${this.#prefix}-${this.made.length}`;
      this.#cluster.create("ingresses", {
        metadata: { name, namespace: "faults", labels: { scenario: this.#prefix } },
        spec: { rules: [{ host: `${name}.example` }] },
      });
      this.made.push(name);
      this.madeAt.set(name, Date.now());
    }
  }

  /** Creates objects at a steady rate (in 20 ms ticks) until stop(). */
  start(perSecond: number): void {
    const perTick = perSecond / 50;
    let owed = 0;
    this.#timer = setInterval(() => {
      owed += perTick;
      const now = Math.floor(owed);
      owed -= now;
      this.create(now);
    }, 20);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Runs at `perSecond` for `ms`, then stops. */
  async run(perSecond: number, ms: number): Promise<void> {
    this.start(perSecond);
    await new Promise((r) => setTimeout(r, ms));
    this.stop();
  }
}
