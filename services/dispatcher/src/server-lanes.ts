import { Semaphore } from "@mcic/core";
import { KeyedSerializer } from "./keyed-serializer.js";

/** One server's share of the dispatcher: its own concurrency limit and per-object order. */
class Lane {
  readonly serial = new KeyedSerializer();
  readonly slots: Semaphore;
  queued = 0;
  /** Set while the server fails: new events skip the fast path and queue durably instead. */
  failing = false;
  /** Start times of the attempts in flight, for the slow-server watchdog. */
  readonly started = new Set<{ at: number }>();
  /** Woken when `started` empties: whoever waits for the server's last request to finish. */
  idle: (() => void)[] = [];

  constructor(perServer: number) {
    this.slots = new Semaphore(perServer);
  }
}

export interface LaneOptions {
  /** HTTP requests in flight to one server at most. */
  perServer: number;
  /** HTTP requests in flight from this process at most (DISPATCH_CONCURRENCY). */
  total: number;
  /** Deliveries waiting for one server at most before new ones are turned away (overflow). */
  maxQueued: number;
  /** An attempt unanswered this long marks its server failing (checked every 100 ms). */
  slowAfterMs?: number;
}

/**
 * Isolation between servers: a slow server fills its own lane, and what does not fit is refused
 * at once (the caller parks it in the durable delivery queue), so it never holds up the others.
 */
export class ServerLanes {
  readonly #lanes = new Map<string, Lane>();
  readonly #o: LaneOptions;

  #watchdog: NodeJS.Timeout | undefined;
  readonly #total: Semaphore;

  constructor(options: LaneOptions) {
    this.#o = options;
    this.#total = new Semaphore(options.total);
    if (options.slowAfterMs !== undefined) {
      // One timer for all attempts, instead of a timer per attempt.
      const slowAfterMs = options.slowAfterMs;
      this.#watchdog = setInterval(() => {
        const limit = performance.now() - slowAfterMs;
        for (const lane of this.#lanes.values()) {
          for (const s of lane.started) {
            if (s.at < limit) {
              lane.failing = true;
              break;
            }
          }
        }
      }, 100);
      this.#watchdog.unref();
    }
  }

  stop(): void {
    clearInterval(this.#watchdog);
  }

  #lane(server: string): Lane {
    let lane = this.#lanes.get(server);
    if (!lane) {
      lane = new Lane(this.#o.perServer);
      this.#lanes.set(server, lane);
    }
    return lane;
  }

  /** True when the server has room and is not known to be failing. */
  accepts(server: string): boolean {
    const lane = this.#lane(server);
    return !lane.failing && lane.queued < this.#o.maxQueued;
  }

  setFailing(server: string, failing: boolean): void {
    this.#lane(server).failing = failing;
  }

  isFailing(server: string): boolean {
    return this.#lanes.get(server)?.failing ?? false;
  }

  pending(server: string): number {
    return this.#lanes.get(server)?.queued ?? 0;
  }

  /** Attempts (HTTP requests and their recording) under way to the server. */
  inFlight(server: string): number {
    return this.#lanes.get(server)?.started.size ?? 0;
  }

  /** Resolves once no attempt to any of these servers is under way (queued ones do not count). */
  async settled(servers: Iterable<string>): Promise<void> {
    const busy = [...servers].flatMap((s) => {
      const lane = this.#lanes.get(s);
      return lane && lane.started.size > 0 ? [lane] : [];
    });
    await Promise.all(busy.map((lane) => new Promise<void>((resolve) => lane.idle.push(resolve))));
  }

  /** Runs `task` in the server's lane, after earlier tasks of the same object, within its limit. */
  async run<T>(server: string, objectKey: string, task: () => Promise<T>): Promise<T> {
    const lane = this.#lane(server);
    lane.queued++;
    try {
      let result!: T;
      await lane.serial.run(objectKey, async () => {
        await lane.slots.acquire();
        // Then one of the process-wide slots (DISPATCH_CONCURRENCY): taken after the lane's, so a
        // server waiting for its own slots never holds one of everybody's.
        await this.#total.acquire();
        const started = { at: performance.now() };
        lane.started.add(started);
        try {
          result = await task();
        } finally {
          lane.started.delete(started);
          this.#total.release();
          lane.slots.release();
          if (lane.started.size === 0 && lane.idle.length > 0) for (const wake of lane.idle.splice(0)) wake();
        }
      });
      return result;
    } finally {
      lane.queued--;
    }
  }
}
