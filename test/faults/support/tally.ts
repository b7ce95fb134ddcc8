import { appendFileSync } from "node:fs";
import { waitFor } from "@mcic/core/testing";
import type { ChangeMaker } from "./change-maker.js";
import type { DownableReceiver } from "./downable-receiver.js";

/** One line of the fault table: what a server was owed and what it got. */
export interface FaultRow {
  scenario: string;
  server: string;
  made: number;
  delivered: number;
  lost: number;
  duplicated: number;
  /** The longest a change took from being made to its first arrival (what the fault cost). */
  maxDelaySeconds: number;
  /** From the last change made until the server held every change (NaN: never). */
  catchUpSeconds: number;
}

interface Delivered {
  id: string;
  data: { name: string; type: string };
}

/** Counts, for one server, the changes of `made` it got (by object name) and how many came twice. */
export function tally(made: readonly string[], receiver: DownableReceiver) {
  const wanted = new Set(made);
  const ids = new Map<string, number>();
  const names = new Set<string>();
  for (const body of receiver.delivered() as Delivered[]) {
    if (!wanted.has(body.data?.name)) continue;
    names.add(body.data.name);
    ids.set(body.id, (ids.get(body.id) ?? 0) + 1);
  }
  let duplicated = 0;
  for (const n of ids.values()) duplicated += n - 1;
  const missing = made.filter((n) => !names.has(n));
  return { delivered: names.size, lost: missing.length, missing, duplicated };
}

/**
 * Called once the last change is made: waits until every receiver holds every made change (or the
 * deadline passes: the rows then show what was lost), and returns one row per server.
 */
export async function settle(
  scenario: string,
  maker: ChangeMaker,
  receivers: readonly DownableReceiver[],
  timeoutMs: number,
): Promise<FaultRow[]> {
  const made = maker.made;
  const lastMadeAt = Date.now();
  const doneAt = new Map<string, number>();
  try {
    await waitFor(
      () => {
        const short: string[] = [];
        for (const r of receivers) {
          const t = tally(made, r);
          if (t.lost === 0) {
            if (!doneAt.has(r.name)) doneAt.set(r.name, Date.now());
          } else short.push(`${r.name} lacks ${t.lost} of ${made.length} (e.g. ${t.missing.slice(0, 3).join(", ")})`);
        }
        if (short.length) throw new Error(short.join("; "));
        return true;
      },
      { timeoutMs, intervalMs: 100, message: `${scenario}: every change at every server` },
    );
  } catch (err) {
    // The rows below say what is missing; the assertion on `lost` fails the test with them.
    console.error(String(err));
  }
  return receivers.map((r) => {
    const t = tally(made, r);
    const at = doneAt.get(r.name);
    return {
      scenario,
      server: r.name,
      made: made.length,
      delivered: t.delivered,
      lost: t.lost,
      duplicated: t.duplicated,
      maxDelaySeconds: maxDelay(maker, r),
      catchUpSeconds: at === undefined ? Number.NaN : (at - lastMadeAt) / 1000,
    };
  });
}

/** Seconds from the making of each change to its first arrival at the receiver; the largest. */
function maxDelay(maker: ChangeMaker, receiver: DownableReceiver): number {
  const first = new Map<string, number>();
  for (const { at, body } of receiver.arrivals()) {
    let name: unknown;
    try {
      name = (JSON.parse(body) as Delivered).data?.name;
    } catch {
      continue;
    }
    if (typeof name === "string" && !first.has(name)) first.set(name, at);
  }
  let worst = 0;
  for (const [name, madeAt] of maker.madeAt) {
    const at = first.get(name);
    if (at === undefined) return Number.NaN;
    worst = Math.max(worst, at - madeAt);
  }
  return worst / 1000;
}

const HEADER = ["scenario", "server", "made", "delivered", "lost", "duplicated", "max delay s", "catch-up s"];

/** The rows as a Markdown table, as docs/reliability.md shows them. */
export function formatTable(rows: readonly FaultRow[]): string {
  const lines = rows.map((r) => [
    r.scenario,
    r.server,
    String(r.made),
    String(r.delivered),
    String(r.lost),
    String(r.duplicated),
    Number.isNaN(r.maxDelaySeconds) ? "never" : r.maxDelaySeconds.toFixed(1),
    Number.isNaN(r.catchUpSeconds) ? "never" : r.catchUpSeconds.toFixed(1),
  ]);
  const table = [HEADER, HEADER.map(() => "---"), ...lines];
  return table.map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

/** Prints the rows and, under `make faults`, adds them to the run's table. */
export function report(rows: readonly FaultRow[]): void {
  console.log(`\n${formatTable(rows)}\n`);
  const file = process.env.MCIC_FAULT_RESULTS;
  if (file) for (const row of rows) appendFileSync(file, `${JSON.stringify(row)}\n`);
}
