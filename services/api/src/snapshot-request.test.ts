import { snapshotRequestSubject } from "@mcic/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./test-harness.js";

describe("POST /servers with snapshot", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("answers only once the watchers' snapshot request is at NATS", async () => {
    // Otherwise a cluster registered right after the answer can be both listed by its watcher
    // and then snapshotted for the server: every object it holds delivered twice.
    const seen: string[] = [];
    const sub = h.nats.subscribe(snapshotRequestSubject(h.prefix), {
      callback: (_err, msg) => {
        seen.push((msg.json() as { server: string }).server);
      },
    });
    try {
      for (let i = 0; i < 10; i++) {
        const res = await h.call("POST", "/api/v1/servers", { name: `snap-${i}`, url: "https://rx.example/hook" });
        expect(res.status).toBe(201);
        expect(seen, `request for snap-${i} at NATS when the API answered`).toContain(`snap-${i}`);
      }
      const quiet = await h.call("POST", "/api/v1/servers", {
        name: "no-snap",
        url: "https://rx.example/hook",
        snapshot: false,
      });
      expect(quiet.status).toBe(201);
      await h.nats.flush();
      expect(seen).not.toContain("no-snap");
    } finally {
      sub.unsubscribe();
    }
  });
});
