import { type ChildProcess, spawn } from "node:child_process";

/** A command of a deploy file run on this machine, its output collected. */
export interface LocalProcess {
  readonly child: ChildProcess;
  readonly output: { text: string };
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGKILL, as a crash would, and waits until it is gone. */
  kill(): Promise<void>;
}

/**
 * Runs the commands a container would run, as plain processes, and kills every one still running
 * on `stopAll` (from afterAll or afterEach, so a failed test leaves nothing behind).
 */
export class LocalProcesses {
  private readonly started: LocalProcess[] = [];

  run(argv: string[], options: { env: Record<string, string>; cwd: string }): LocalProcess {
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? "", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = { text: "" };
    const collect = (chunk: Buffer) => {
      output.text += chunk.toString();
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const exited = new Promise<number | null>((resolve) => {
      child.once("exit", (code) => resolve(code));
      child.once("error", (err) => {
        output.text += `${argv[0]} did not start: ${err.message}\n`;
        resolve(null);
      });
    });
    const kill = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    };
    const proc = { child, output, exited, kill };
    this.started.push(proc);
    return proc;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.started.splice(0).map((p) => p.kill()));
  }
}
