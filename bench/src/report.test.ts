import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderSvg, renderText } from "./report.js";
import { type BenchResults, percentile, readResults, writeResults } from "./results.js";

const run: BenchResults = {
  name: "dispatcher",
  at: "2026-12-02T16:00:00.000Z",
  rows: [
    { part: "dispatcher", label: "raw POST, fan-out 1", role: "ceiling", rate: 10_000, unit: "deliveries/s" },
    {
      part: "dispatcher",
      label: "mcic <fan-out 1>",
      role: "mcic",
      rate: 3_000,
      unit: "deliveries/s",
      shareOfCeiling: 0.3,
      cpuUsPer: { dispatcher: 250, receiver: 40 },
      p50Ms: 3,
      p99Ms: 21.5,
    },
  ],
  targets: [
    { name: "rate >= 30% of raw POST, fan-out 1", value: 0.3, limit: 0.3, comparison: ">=" },
    { name: "p99 <= 25 ms", value: 31, limit: 25, comparison: "<=", unit: " ms" },
  ],
};

describe("make bench report", () => {
  it("prints every row under its part and says which targets are met", () => {
    const text = renderText([run]);
    expect(text).toContain("## dispatcher");
    expect(text).toMatch(
      /mcic <fan-out 1>\s+mcic\s+3,000 deliveries\/s\s+30%\s+dispatcher 250, receiver 40\s+3 \/ 21.5/,
    );
    expect(text).toMatch(/rate >= 30% of raw POST, fan-out 1\s+0.3\s+>= 0.3\s+yes/);
    expect(text).toMatch(/p99 <= 25 ms\s+31 ms\s+<= 25 ms\s+NO/);
    expect(text).toContain("1 of 2 targets met");
  });

  it("draws one bar per rate and per p99, with labels escaped", () => {
    const svg = renderSvg([run]);
    expect(svg.match(/<rect x="300"/g)).toHaveLength(3); // two rates, one p99
    expect(svg).toContain("mcic &lt;fan-out 1&gt;");
    expect(svg).not.toContain("<fan-out");
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect(svg).toMatch(/<title>[^<]+<\/title>/); // screen readers, and biome's a11y lint
  });

  it("reads back what the benchmarks wrote, and takes nearest-rank percentiles", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-results-"));
    try {
      expect(readResults(dir)).toEqual([]);
      writeResults("watcher", [{ part: "watcher", label: "mcic", role: "mcic", rate: 1 }], [], dir);
      writeResults("dispatcher", run.rows, run.targets, dir);
      const back = readResults(dir);
      expect(back.map((r) => r.name)).toEqual(["dispatcher", "watcher"]);
      expect(back[0]).toMatchObject({ rows: run.rows, targets: run.targets });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 99)).toBe(5);
    expect(percentile([], 99)).toBe(0);
  });
});
