import { readFileSync, readdirSync } from "node:fs";

const CLOCK_TICKS = 100;

/** RSS (bytes) and total CPU time (seconds) of a process, from /proc. Linux only. */
export function processStats(pid: number): { rss: number; cpuSeconds: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may contain spaces) start past the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const statm = readFileSync(`/proc/${pid}/statm`, "utf8").split(" ");
  return { rss: Number(statm[1]) * 4096, cpuSeconds: (utime + stime) / CLOCK_TICKS };
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/**
 * The pid of a child of this process whose command line holds every one of `args` (a server the
 * test helpers started, found by its port), or undefined. Linux only.
 */
export function childPid(args: string[]): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (args.every((a) => cmdline.includes(a))) return Number(entry);
    } catch {
      // The process ended while we looked: not the one we want.
    }
  }
  return undefined;
}
