import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultStack, singleBackends } from "./support/fault-stack.js";
import { runMidStream } from "./support/scenario.js";
import type { FaultRow } from "./support/tally.js";

/** Each service killed with -9 mid-stream and started again: every change still reaches every server. */
describe("fault: services killed with -9 mid-stream", () => {
  let fs: FaultStack;
  beforeAll(async () => {
    fs = await FaultStack.start({ backends: await singleBackends() });
  }, 60_000);
  afterAll(async () => {
    await fs?.stop();
  });

  function expectNothingLost(rows: FaultRow[], maxDuplicated: number) {
    for (const row of rows) {
      expect(row, `${row.server}`).toMatchObject({ lost: 0, delivered: row.made });
      expect(row.duplicated, `${row.server} duplicates`).toBeLessThanOrEqual(maxDuplicated);
    }
  }

  it("the watcher: the next one resumes where it stopped, changes made meanwhile published once", async () => {
    const rows = await runMidStream(fs, {
      name: "kill -9 watcher",
      fault: () => fs.kill("watcher"),
      recover: async () => {
        await fs.restart("watcher");
      },
    });
    // The events stream stores a change once however often it is published (Nats-Msg-Id).
    expectNothingLost(rows, 0);
  }, 120_000);

  it("the dispatcher: what it had taken comes back to the next one", async () => {
    const rows = await runMidStream(fs, {
      name: "kill -9 dispatcher",
      fault: () => fs.kill("dispatcher"),
      recover: async () => {
        await fs.restart("dispatcher");
      },
    });
    // Deliveries answered but not yet acknowledged when it died are sent again.
    expectNothingLost(rows, 50);
  }, 120_000);

  it("the api: events flow without it, and the one started again serves the same registrations", async () => {
    const rows = await runMidStream(fs, {
      name: "kill -9 api",
      fault: () => fs.kill("api"),
      recover: async () => {
        await fs.restart("api");
      },
    });
    expectNothingLost(rows, 0);
    const servers = await fs.stack.api("/api/v1/servers");
    expect(servers.body.map((s: { name: string }) => s.name).sort()).toEqual(["lb-a", "lb-b"]);
  }, 120_000);

  it("a watcher and a dispatcher at the same moment", async () => {
    const rows = await runMidStream(fs, {
      name: "kill -9 watcher + dispatcher",
      fault: async () => {
        await Promise.all([fs.kill("watcher"), fs.kill("dispatcher")]);
      },
      recover: async () => {
        await Promise.all([fs.restart("watcher"), fs.restart("dispatcher")]);
      },
    });
    expectNothingLost(rows, 50);
  }, 120_000);
});
