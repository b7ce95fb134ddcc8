import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeMaker } from "./support/change-maker.js";
import { FaultStack, singleBackends } from "./support/fault-stack.js";
import { report, settle } from "./support/tally.js";

/** 10,000 changes at once, to two servers: nothing lost, nothing twice, and how long it takes. */
describe("fault: a 10,000-event burst", () => {
  let fs: FaultStack;
  beforeAll(async () => {
    fs = await FaultStack.start({ backends: await singleBackends() });
  }, 60_000);
  afterAll(async () => {
    await fs?.stop();
  });

  it("reaches both servers whole, each change once", async () => {
    const maker = new ChangeMaker(fs.cluster, "burst");
    maker.create(10_000);
    const rows = await settle("10,000-event burst", maker, fs.receivers, 240_000);
    report(rows);
    for (const row of rows) expect(row, row.server).toMatchObject({ lost: 0, duplicated: 0 });
  }, 300_000);
});
