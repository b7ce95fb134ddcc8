// Self and total time per function from a V8 .cpuprofile (node --cpu-prof), optionally only for
// samples inside a window of monotonic microseconds (the watcher benchmark prints its change phase
// with PRINT_PHASE=1). `node bench/dist/src/cpu-profile-summary.js <file> [fromUs toUs] [top]`.
import { readFileSync } from "node:fs";
import { basename } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, from, to, topArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: cpu-profile-summary <file.cpuprofile> [fromUs toUs] [top]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
const fromUs = from ? Number(from) : Number.NEGATIVE_INFINITY;
const toUs = to ? Number(to) : Number.POSITIVE_INFINITY;
const top = Number(topArg ?? 40);

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const n of profile.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) parent.set(c, n.id);
}
const label = (n: ProfileNode) => {
  const { functionName, url, lineNumber } = n.callFrame;
  return `${functionName || "(anonymous)"} ${url ? `${basename(url)}:${lineNumber + 1}` : ""}`.trim();
};

const self = new Map<string, number>();
const total = new Map<string, number>();
let sampled = 0;
let t = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i] ?? 0;
  if (t < fromUs || t > toUs) continue;
  const id = profile.samples[i] as number;
  const node = byId.get(id);
  if (!node) continue;
  sampled++;
  self.set(label(node), (self.get(label(node)) ?? 0) + 1);
  // Each function once per sample, however deep it recurses.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur) as ProfileNode);
    if (!seen.has(l)) total.set(l, (total.get(l) ?? 0) + 1);
    seen.add(l);
  }
}

const idle = self.get("(idle)") ?? 0;
const busy = sampled - idle;
const pct = (n: number) => `${((n / busy) * 100).toFixed(1).padStart(5)}%`;
console.log(`${sampled} samples in the window, ${busy} not idle; shares below are of the non-idle samples`);
console.log("self time:");
for (const [l, n] of [...self]
  .filter(([l]) => l !== "(idle)")
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  console.log(`  ${pct(n)}  ${l}`);
console.log("total time (the function and what it calls):");
for (const [l, n] of [...total]
  .filter(([l]) => !["(root)", "(idle)", "(program)"].includes(l))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  console.log(`  ${pct(n)}  ${l}`);
