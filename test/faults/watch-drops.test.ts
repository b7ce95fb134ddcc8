import { waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeMaker } from "./support/change-maker.js";
import { scrapeMetric } from "../support/stack.js";
import { FaultStack, singleBackends } from "./support/fault-stack.js";
import { runMidStream } from "./support/scenario.js";

interface Delivered {
  data: { name: string; type: string };
}

/**
 * An API server that drops watch connections mid-stream and compacts its history, so the watcher
 * must resume, and when resuming fails with 410 Gone, list again and work out what changed.
 */
describe("fault: the cluster's API server drops watches and compacts", () => {
  let fs: FaultStack;
  beforeAll(async () => {
    fs = await FaultStack.start({ backends: await singleBackends() });
  }, 60_000);
  afterAll(async () => {
    await fs?.stop();
  });

  it("every change made across five drops, three with compaction, reaches every server", async () => {
    const watcher = fs.service("watcher");
    const relists = () => scrapeMetric(watcher, "mcic_watcher_relists_total", 'cluster="prod"');
    const relistsBefore = await relists();
    const rows = await runMidStream(fs, {
      name: "watches dropped + compacted",
      fault: async (maker) => {
        for (let i = 0; i < 5; i++) {
          fs.cluster.closeWatches();
          if (i % 2 === 0) {
            // A change no watch saw, then compaction past it: the watcher's resume point is older
            // than what the history keeps, so it must get 410 and list again. (Compacting alone
            // is not enough: a watcher that had seen everything may resume at the newest version.)
            maker.create(1);
            fs.cluster.compact();
          }
          await new Promise((r) => setTimeout(r, 300));
        }
      },
      during: 100,
    });
    for (const row of rows) expect(row, row.server).toMatchObject({ lost: 0, duplicated: 0 });
    // The fault did what it says: resume points were gone, so the watcher had to list again.
    expect(await relists()).toBeGreaterThan(relistsBefore);
  }, 120_000);

  it("objects deleted while the watch was down and history compacted reach servers as DELETED", async () => {
    const maker = new ChangeMaker(fs.cluster, "gone");
    maker.create(20);
    const hasAll = (type: string, names: string[]) =>
      fs.receivers.every((r) => {
        const seen = new Set(
          (r.delivered() as Delivered[]).filter((e) => e.data?.type === type).map((e) => e.data.name),
        );
        return names.every((n) => seen.has(n));
      });
    await waitFor(() => hasAll("ADDED", maker.made), { timeoutMs: 20_000, message: "20 objects delivered" });
    const deleted = maker.made.slice(0, 10);
    fs.cluster.closeWatches();
    for (const name of deleted) fs.cluster.delete("ingresses", "faults", name);
    fs.cluster.compact();
    await waitFor(() => hasAll("DELETED", deleted), {
      timeoutMs: 30_000,
      message: "a DELETED for each of the 10 objects deleted in the gap",
    });
  }, 60_000);
});
