// What every benchmark hands to `make bench`'s report (report.ts): rows measured in this run, and
// the targets as ratios between rows of the same run. Each benchmark writes one file,
// bench/results/<name>.json, so the report can print one table however many parts ran.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** bench/results, whether this runs from bench/dist/src (node) or bench/src. */
export const resultsDir = join(here, here.endsWith(join("dist", "src")) ? "../.." : "..", "results");

export interface BenchRow {
  /** The part of the report: "dispatcher", "watcher", "latency", "watcher scale", "server index", "replicas". */
  part: string;
  /** One configuration, e.g. "mcic, fan-out 10" or "raw POST (ceiling), fan-out 10". */
  label: string;
  /** ceiling: what the machine allows; baseline: what a user could write; mcic: what we ship. */
  role: "ceiling" | "baseline" | "mcic";
  /** Work per second, with its unit ("deliveries/s", "events/s"). */
  rate?: number;
  unit?: string;
  /** rate / the ceiling's rate in the same run (0..1). */
  shareOfCeiling?: number;
  /** CPU microseconds per unit of work, per process ("dispatcher", "receiver", "nats", "loop" ...). */
  cpuUsPer?: Record<string, number>;
  p50Ms?: number;
  p99Ms?: number;
  rssMb?: number;
  nsPerEvent?: number;
  note?: string;
}

export interface BenchTarget {
  /** As the issue words it, e.g. "dispatcher CPU per delivery <= 1.2x the minimal loop's, fan-out 1". */
  name: string;
  /** The measured figure and the limit, in the same unit (a ratio, ms, MiB). */
  value: number;
  limit: number;
  comparison: "<=" | ">=";
  unit?: string;
}

export interface BenchResults {
  name: string;
  at: string;
  rows: BenchRow[];
  targets: BenchTarget[];
}

export const targetMet = (t: BenchTarget) => (t.comparison === "<=" ? t.value <= t.limit : t.value >= t.limit);

/** Writes bench/results/<name>.json (replacing the previous run's). */
export function writeResults(name: string, rows: BenchRow[], targets: BenchTarget[] = [], dir = resultsDir): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const results: BenchResults = { name, at: new Date().toISOString(), rows, targets };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/** Every results file, in name order. */
export function readResults(dir = resultsDir): BenchResults[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  return files.sort().map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as BenchResults);
}

/** p-th percentile (0..100) of values, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}
