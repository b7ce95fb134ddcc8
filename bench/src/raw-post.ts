// The raw POST process (raw-post-process.ts) as the benchmark drives it.
import type { ChildProcess } from "node:child_process";
import { type BenchMessage, forkHelper, nextMessage, stopHelper } from "./ipc.js";

export interface RawJobMessage extends BenchMessage {
  type: "prepare";
  origin: string;
  /** Events `ingressEnvelope(cluster, "o<n>", n + 1)`, n from 0, each sent to every target. */
  cluster: string;
  events: number;
  targets: { path: string; secret: string }[];
  connections: number;
  inFlight: number;
}

export interface RawDoneMessage extends BenchMessage {
  type: "done";
  elapsedMs: number;
  /** Per event, when its first request started (epoch ms). */
  startedAt: number[];
}

export class RawPostProcess {
  private constructor(readonly child: ChildProcess) {}

  static async start(): Promise<RawPostProcess> {
    const child = forkHelper("raw-post-process");
    await nextMessage(child, "ready", 30_000);
    return new RawPostProcess(child);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Builds and signs the requests in the child (not timed). */
  async prepare(job: Omit<RawJobMessage, "type">): Promise<void> {
    const prepared = nextMessage(this.child, "prepared", 120_000);
    this.child.send({ type: "prepare", ...job } satisfies RawJobMessage);
    await prepared;
  }

  /** Sends what `prepare` built; resolves when every request was answered. */
  async run(): Promise<RawDoneMessage> {
    const done = nextMessage<RawDoneMessage>(this.child, "done", 300_000);
    this.child.send({ type: "run" });
    return done;
  }

  stop(): Promise<void> {
    return stopHelper(this.child);
  }
}
