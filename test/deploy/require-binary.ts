import { spawnSync } from "node:child_process";

/** Fails with how to install it when a tool a deploy check runs is not on PATH. */
export function requireBinary(name: string, install: string): void {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  if (found.status !== 0) {
    throw new Error(`"${name}" is not on PATH; this test needs it. Install it: ${install} (.ci/run does when missing)`);
  }
}
