// CPU time of the processes a benchmark row involves, read from /proc before and after the run.
import { readFileSync, readdirSync } from "node:fs";
import { processStats } from "./process-stats.js";

/** CPU seconds per named process, at one moment. */
export type CpuSnapshot = Record<string, number>;

export function cpuSnapshot(pids: Record<string, number | undefined>): CpuSnapshot {
  const out: CpuSnapshot = {};
  for (const [name, pid] of Object.entries(pids)) {
    if (pid === undefined) continue;
    try {
      out[name] = processStats(pid).cpuSeconds;
    } catch {
      // The process is gone (it exited): it has no figure for this row.
    }
  }
  return out;
}

/** CPU µs per unit of work (delivery, event) of each process between two snapshots. */
export function cpuMicrosPer(before: CpuSnapshot, after: CpuSnapshot, units: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, start] of Object.entries(before)) {
    const end = after[name];
    if (end !== undefined) out[name] = ((end - start) / units) * 1e6;
  }
  return out;
}

/**
 * The pid of this process's child running `command` (nats-server, redis-server: the test helpers
 * start them as our children but do not hand out their pids). Undefined if there is none.
 */
export function childPid(command: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === process.pid && comm === command) return Number(entry);
  }
  return undefined;
}
