// The last step of `make bench`: one table of every row the benchmarks of this run wrote to
// bench/results/, the targets with whether each is met, and docs/benchmarks.svg (throughput
// and p99 latency per configuration). `node bench/dist/src/report.js [--svg <file>]`.
import { writeFileSync } from "node:fs";
import { type BenchResults, type BenchRow, readResults, targetMet } from "./results.js";

const num = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });

function cpuText(cpu: BenchRow["cpuUsPer"]): string {
  if (!cpu) return "";
  return Object.entries(cpu)
    .map(([process, us]) => `${process} ${num(us, us < 10 ? 1 : 0)}`)
    .join(", ");
}

function cells(r: BenchRow): string[] {
  return [
    r.label,
    r.role,
    r.rate === undefined ? "" : `${num(r.rate)} ${r.unit ?? "/s"}`,
    r.shareOfCeiling === undefined ? "" : `${num(r.shareOfCeiling * 100)}%`,
    cpuText(r.cpuUsPer),
    r.p50Ms === undefined && r.p99Ms === undefined ? "" : `${num(r.p50Ms ?? 0, 1)} / ${num(r.p99Ms ?? 0, 1)}`,
    r.rssMb === undefined ? "" : `${num(r.rssMb)} MB`,
    r.nsPerEvent === undefined ? "" : num(r.nsPerEvent),
    r.note ?? "",
  ];
}

const HEADER = [
  "configuration",
  "role",
  "rate",
  "of ceiling",
  "CPU µs per unit",
  "p50 / p99 ms",
  "RSS",
  "ns/event",
  "note",
];

/** A plain-text table with aligned columns; columns empty in every row are left out. */
export function table(header: string[], rows: string[][]): string {
  const used = header.map((_, i) => rows.some((r) => (r[i] ?? "") !== ""));
  const pick = (r: string[]) => r.filter((_, i) => used[i]);
  const all = [pick(header), ...rows.map(pick)];
  const widths = all[0]?.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length))) ?? [];
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(all[0] ?? []), widths.map((w) => "-".repeat(w)).join("  "), ...all.slice(1).map(line)].join("\n");
}

/** Every part's rows, then every target, as text. */
export function renderText(results: BenchResults[]): string {
  const out: string[] = [];
  const parts = new Map<string, BenchRow[]>();
  for (const r of results) for (const row of r.rows) parts.set(row.part, [...(parts.get(row.part) ?? []), row]);
  for (const [part, rows] of parts) out.push(`## ${part}`, table(HEADER, rows.map(cells)), "");
  const targets = results.flatMap((r) => r.targets);
  if (targets.length > 0) {
    out.push(
      "## targets",
      table(
        ["target", "measured", "limit", "met"],
        targets.map((t) => [
          t.name,
          `${num(t.value, 2)}${t.unit ?? ""}`,
          `${t.comparison} ${num(t.limit, 2)}${t.unit ?? ""}`,
          targetMet(t) ? "yes" : "NO",
        ]),
      ),
    );
    out.push(`${targets.filter(targetMet).length} of ${targets.length} targets met`);
  }
  return out.join("\n");
}

const escapeXml = (s: string) =>
  s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c);

const COLORS: Record<BenchRow["role"], string> = { ceiling: "#9aa5b1", baseline: "#e3a008", mcic: "#1c64f2" };

interface Bar {
  label: string;
  value: number;
  text: string;
  role: BenchRow["role"];
}

/** One panel of horizontal bars per group, each group scaled to its own largest value. */
function panel(
  title: string,
  groups: Map<string, Bar[]>,
  y0: number,
  width: number,
  labelWidth: number,
): { svg: string; height: number } {
  const barMax = width - labelWidth - 140;
  const parts: string[] = [`<text x="10" y="${y0 + 20}" class="title">${escapeXml(title)}</text>`];
  let y = y0 + 36;
  for (const [group, bars] of groups) {
    parts.push(`<text x="10" y="${y + 12}" class="group">${escapeXml(group)}</text>`);
    y += 20;
    const max = Math.max(...bars.map((b) => b.value), Number.MIN_VALUE);
    for (const b of bars) {
      const w = Math.max(1, (b.value / max) * barMax);
      parts.push(
        `<text x="${labelWidth - 6}" y="${y + 12}" class="label" text-anchor="end">${escapeXml(b.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 2}" width="${w.toFixed(1)}" height="14" fill="${COLORS[b.role]}"/>`,
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 13}" class="value">${escapeXml(b.text)}</text>`,
      );
      y += 20;
    }
    y += 6;
  }
  return { svg: parts.join("\n"), height: y - y0 };
}

function grouped(results: BenchResults[], bar: (r: BenchRow) => Bar | undefined): Map<string, Bar[]> {
  const groups = new Map<string, Bar[]>();
  for (const row of results.flatMap((r) => r.rows)) {
    const b = bar(row);
    if (b) groups.set(row.part, [...(groups.get(row.part) ?? []), b]);
  }
  return groups;
}

/** docs/benchmarks.svg: throughput and p99 latency per configuration, coloured by role. */
export function renderSvg(results: BenchResults[], barsWidth = 600): string {
  // Room for the longest label (about 6.5 px per character at 12 px).
  const longest = Math.max(0, ...results.flatMap((r) => r.rows.map((row) => row.label.length)));
  const labelWidth = Math.max(300, Math.ceil(longest * 6.5) + 16);
  const width = labelWidth + barsWidth;
  const throughput = panel(
    "Throughput per configuration (each group scaled to its largest)",
    grouped(results, (r) =>
      r.rate === undefined
        ? undefined
        : { label: r.label, value: r.rate, text: `${num(r.rate)} ${r.unit ?? "/s"}`, role: r.role },
    ),
    0,
    width,
    labelWidth,
  );
  const latency = panel(
    "p99 latency, ms",
    grouped(results, (r) =>
      r.p99Ms === undefined
        ? undefined
        : { label: r.label, value: r.p99Ms, text: `${num(r.p99Ms, 1)} ms`, role: r.role },
    ),
    throughput.height + 10,
    width,
    labelWidth,
  );
  const height = throughput.height + latency.height + 40;
  const at = results.map((r) => r.at).sort()[0] ?? "";
  const legend = (Object.entries(COLORS) as [BenchRow["role"], string][])
    .map(
      ([role, color], i) =>
        `<rect x="${10 + i * 110}" y="${height - 22}" width="12" height="12" fill="${color}"/>` +
        `<text x="${26 + i * 110}" y="${height - 12}" class="label">${role}</text>`,
    )
    .join("\n");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    "<title>mcic benchmarks: throughput and p99 latency per configuration</title>",
    "<style>.title{font-size:15px;font-weight:bold}.group{font-size:13px;font-weight:bold}.label,.value{font-size:12px}</style>",
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    throughput.svg,
    latency.svg,
    legend,
    `<text x="${width - 10}" y="${height - 12}" class="label" text-anchor="end">make bench, ${escapeXml(at.slice(0, 16))} UTC</text>`,
    "</svg>",
    "",
  ].join("\n");
}

if (process.argv[1]?.endsWith("report.js")) {
  const results = readResults();
  if (results.length === 0) {
    console.error("no results in bench/results: run the benchmarks first (make bench)");
    process.exit(1);
  }
  console.log(renderText(results));
  const svgAt = process.argv.indexOf("--svg");
  if (svgAt > 0) {
    const file = process.argv[svgAt + 1] ?? "docs/benchmarks.svg";
    writeFileSync(file, renderSvg(results));
    console.log(`chart written to ${file}`);
  }
}
