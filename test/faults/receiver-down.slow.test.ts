import { waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultStack, singleBackends } from "./support/fault-stack.js";
import { runMidStream } from "./support/scenario.js";
import { tally } from "./support/tally.js";

const OUTAGE_MS = 60_000;

/** A receiver that refuses connections for a minute, while changes keep coming. */
describe("fault: a receiver down for 60 s", () => {
  let fs: FaultStack;
  beforeAll(async () => {
    fs = await FaultStack.start({
      backends: await singleBackends(),
      // Retries that outlast the outage (75 s in all), as the default schedule (hours) does.
      env: { DISPATCH_RETRY_SCHEDULE: "1s,2s,4s,8s,10s,10s,10s,10s,10s,10s" },
    });
  }, 60_000);
  afterAll(async () => {
    await fs?.stop();
  });

  it("gets every change once it is back, and the other server never waits for it", async () => {
    const [down, up] = fs.receivers;
    if (!down || !up) throw new Error("two receivers expected");
    const perSecond = 50;
    const rows = await runMidStream(fs, {
      name: "receiver down 60 s",
      perSecond,
      during: (perSecond * OUTAGE_MS) / 1000,
      fault: () => down.down(),
      recover: async (maker) => {
        // Isolation: the healthy server holds everything made during the outage before it ends.
        const madeWhileDown = [...maker.made];
        await waitFor(() => tally(madeWhileDown, up).lost === 0, {
          timeoutMs: 10_000,
          message: `${up.name} to keep up while ${down.name} is down`,
        });
        expect(tally(madeWhileDown, down).delivered).toBeLessThan(madeWhileDown.length);
        await down.up();
      },
      settleMs: 120_000,
    });
    for (const row of rows) expect(row, row.server).toMatchObject({ lost: 0, duplicated: 0 });
  }, 300_000);
});
