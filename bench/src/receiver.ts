// The receiver process (receiver-process.ts) as the benchmark sees it: where it listens, its pid
// for CPU readings, and "tell me when these deliveries have all arrived".
import type { ChildProcess } from "node:child_process";
import { type BenchMessage, forkHelper, nextMessage, stopHelper } from "./ipc.js";

export interface ExpectMessage extends BenchMessage {
  type: "expect";
  run: number;
  ids: string[];
  /** Deliveries per id (the fan-out). */
  copies: number;
}

export interface ArrivalsMessage extends BenchMessage {
  type: "arrivals";
  run: number;
  /** Webhook ids in arrival order, with their arrival times (epoch ms, ipc.ts epochMs). */
  ids: string[];
  at: number[];
}

export interface Arrivals {
  ids: string[];
  at: number[];
}

export class BenchReceiver {
  #runs = 0;

  private constructor(
    readonly child: ChildProcess,
    readonly base: string,
  ) {}

  static async start(): Promise<BenchReceiver> {
    const child = forkHelper("receiver-process");
    const { port } = await nextMessage<BenchMessage & { port: number }>(child, "listening", 30_000);
    return new BenchReceiver(child, `http://127.0.0.1:${port}`);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /**
   * Counts deliveries of these ids from now on (earlier runs' late ones are not counted) and
   * returns a wait for all of them: it resolves once `copies` of each arrived (duplicates count, as
   * at-least-once allows), and rejects `timeoutMs` after this call. Call before sending.
   */
  async expect(ids: string[], copies: number, timeoutMs: number): Promise<() => Promise<Arrivals>> {
    const run = ++this.#runs;
    const ofRun = (m: { run: number }) => m.run === run;
    const arrived = nextMessage<ArrivalsMessage>(this.child, "arrivals", timeoutMs, ofRun);
    // Cancelled on timeout, so later deliveries of these ids are not counted for another run.
    arrived.catch(() => this.child.send({ type: "cancel", run }));
    const expecting = nextMessage<BenchMessage & { run: number }>(this.child, "expecting", 30_000, ofRun);
    this.child.send({ type: "expect", run, ids, copies } satisfies ExpectMessage);
    await expecting;
    return async () => {
      const m = await arrived;
      return { ids: m.ids, at: m.at };
    };
  }

  stop(): Promise<void> {
    return stopHelper(this.child);
  }
}
