// Parent side of the benchmark's helper processes (receiver, raw POST client, minimal loop): each
// runs in its own node process so its CPU is its own and the benchmark's is in none of them.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A message between the benchmark and one of its helper processes. */
export interface BenchMessage {
  type: string;
}

/** Forks `<module>.js` from this directory with an IPC channel; its stdout/stderr go to ours. */
export function forkHelper(module: string, nodeArgs: string[] = []): ChildProcess {
  const file = fileURLToPath(new URL(`./${module}.js`, import.meta.url));
  return fork(file, [], { execArgv: nodeArgs, stdio: ["ignore", "inherit", "inherit", "ipc"] });
}

/** The next message of this type from the child; fails if the child exits or the deadline passes. */
export function nextMessage<T extends BenchMessage>(
  child: ChildProcess,
  type: T["type"],
  timeoutMs: number,
  match: (m: T) => boolean = () => true,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: BenchMessage) => {
      if (m?.type !== type || !match(m as T)) return;
      done();
      resolve(m as T);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`helper process exited (${code}) before sending "${type}"`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no "${type}" from the helper process within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/** Asks a helper to stop and waits for it to exit (SIGKILL if it has not after 10 s). */
export async function stopHelper(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.send({ type: "stop" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes. */
export const epochMs = () => performance.timeOrigin + performance.now();

/** In a helper: exit when the benchmark does (it crashed, or forgot us), instead of lingering. */
export function exitWithParent(): void {
  process.once("disconnect", () => process.exit(0));
}

/** Sends a message to the parent (helpers only). */
export function toParent<T extends BenchMessage>(message: T): void {
  if (!process.send) throw new Error("not started by the benchmark (no IPC channel)");
  process.send(message);
}
