// The minimal loop process (minimal-loop.ts) as the benchmark drives it.
import type { ChildProcess } from "node:child_process";
import { type BenchMessage, forkHelper, nextMessage, stopHelper } from "./ipc.js";

export interface LoopStartMessage extends BenchMessage {
  type: "start";
  natsUrl: string;
  stream: string;
  /** A new durable consumer of the stream, filtered to what this run publishes. */
  durable: string;
  filterSubject: string;
  targets: { url: string; secret: string }[];
  connections: number;
  inFlight: number;
}

export class MinimalLoopProcess {
  private constructor(readonly child: ChildProcess) {}

  /** Starts the loop and resolves once it consumes. */
  static async start(options: Omit<LoopStartMessage, "type">, nodeArgs: string[] = []): Promise<MinimalLoopProcess> {
    const child = forkHelper("minimal-loop", nodeArgs);
    await nextMessage(child, "ready", 30_000);
    const consuming = nextMessage(child, "consuming", 30_000);
    child.send({ type: "start", ...options } satisfies LoopStartMessage);
    await consuming;
    return new MinimalLoopProcess(child);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  stop(): Promise<void> {
    return stopHelper(this.child);
  }
}
