import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FaultRow, formatTable } from "./tally.js";

/**
 * vitest global setup of `make faults`: scenarios append their rows to one file (the variable is
 * inherited by the test processes), and the whole table is printed at the end.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "mcic-faults-"));
  const file = join(dir, "rows.jsonl");
  process.env.MCIC_FAULT_RESULTS = file;
  return () => {
    let rows: FaultRow[] = [];
    try {
      rows = readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as FaultRow);
    } catch {
      // No scenario got as far as reporting: the failures above say why.
    }
    console.log(`\nFault suite: ${rows.length} rows, ${rows.reduce((n, r) => n + r.lost, 0)} lost\n`);
    console.log(formatTable(rows));
    rmSync(dir, { recursive: true, force: true });
  };
}
