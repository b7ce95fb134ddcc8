import { waitFor } from "@mcic/core/testing";
import { ChangeMaker } from "./change-maker.js";
import type { FaultStack } from "./fault-stack.js";
import { type FaultRow, report, settle } from "./tally.js";

export interface StreamScenario {
  name: string;
  /** Changes per second made before, during and after the fault. */
  perSecond?: number;
  /** Changes made before the fault, while the fault lasts, and after recovery. */
  before?: number;
  during?: number;
  after?: number;
  /** Both get the maker, to see what was made so far. */
  fault: (maker: ChangeMaker) => Promise<void>;
  recover?: (maker: ChangeMaker) => Promise<void>;
  settleMs?: number;
}

/**
 * The shape every "mid-stream" scenario shares: changes flow at a steady rate, the fault strikes,
 * changes keep coming while it lasts, the system recovers, and then every server must hold every
 * change. Returns the table rows (also reported).
 */
export async function runMidStream(fs: FaultStack, s: StreamScenario): Promise<FaultRow[]> {
  const maker = new ChangeMaker(fs.cluster, s.name.replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, ""));
  const before = s.before ?? 100;
  const during = before + (s.during ?? 200);
  const after = during + (s.after ?? 100);
  const perSecond = s.perSecond ?? 100;
  const reach = (n: number) =>
    waitFor(() => maker.made.length >= n, {
      timeoutMs: ((n - maker.made.length) / perSecond) * 1000 + 30_000,
      message: `${n} changes made`,
    });
  maker.start(perSecond);
  try {
    await reach(before);
    await s.fault(maker);
    await reach(during);
    await s.recover?.(maker);
    await reach(after);
    maker.stop();
    const rows = await settle(s.name, maker, fs.receivers, s.settleMs ?? 60_000);
    report(rows);
    return rows;
  } finally {
    maker.stop();
  }
}
