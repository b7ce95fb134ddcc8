import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { waitFor } from "@mcic/core/testing";
import { ROOT } from "./stack.js";

/** The `mcic` bin as npm links it (packages/cli/bin/mcic.js, which runs the built dist). */
export const MCIC_BIN = join(ROOT, "packages", "cli", "bin", "mcic.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running `mcic` process whose output is collected as it comes (for `mcic tail`). */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  waitForOutput(
    predicate: (stdout: string, stderr: string) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<void>;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<CliResult>;
}

/** Starts `mcic <args>` with only PATH and `env` in its environment (no MCIC_* from the test's shell). */
export function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [MCIC_BIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  const exited = new Promise<CliResult>((resolve) =>
    child.once("close", (code) => resolve({ code, stdout: out, stderr: err })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitForOutput: (predicate, what, timeoutMs = 20_000) =>
      waitFor(
        () => {
          if (predicate(out, err)) return true;
          if (child.exitCode !== null) throw new Error(`mcic exited with ${child.exitCode}:\n${out}\n${err}`);
          return false;
        },
        { timeoutMs, message: what },
      ).then(() => undefined),
    exited,
  };
}

/** Runs `mcic <args>` to its end. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, env).exited;
}
