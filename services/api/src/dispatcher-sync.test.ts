import { DispatcherPresence, type Redis } from "@mcic/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./test-harness.js";

const SYNC_MS = 1000;
const body = (name: string, url = "http://127.0.0.1:9/hook") => ({ name, url, snapshot: false });

describe("server changes wait for the dispatchers to apply them", () => {
  let h: Harness;
  let presence: DispatcherPresence;
  let notices: Redis;

  beforeAll(async () => {
    h = await startHarness({ dispatcherSyncTimeoutMs: SYNC_MS });
    presence = new DispatcherPresence(h.redis, h.registry.keys);
    notices = h.redis.duplicate();
    await notices.subscribe(h.registry.keys.changes);
  });
  afterAll(async () => {
    notices?.disconnect();
    await h.close();
  });
  beforeEach(async () => {
    notices.removeAllListeners("message");
    await h.redis.flushall();
    h.logLines.length = 0;
  });

  /** A stand-in dispatcher: heartbeats, and applies each change `delayMs` after its notice. */
  async function dispatcherApplyingAfter(id: string, delayMs: number): Promise<void> {
    await presence.beat(id, await h.registry.serversRevision());
    notices.on("message", () => {
      setTimeout(async () => {
        await presence.applied(id, await h.registry.serversRevision());
      }, delayMs);
    });
  }

  const timed = async <T>(work: Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const result = await work;
    return [result, performance.now() - started];
  };

  it("answers at once, `applied`, when no dispatcher runs", async () => {
    const [res, ms] = await timed(h.call("POST", "/api/v1/servers", body("lb-1")));
    expect(res.status).toBe(201);
    expect(res.headers.get("x-mcic-dispatchers")).toBe("applied");
    expect(ms).toBeLessThan(SYNC_MS);
  });

  it("answers POST, PUT, rotate-secret and DELETE only once every live dispatcher applied the change", async () => {
    const calls: [string, string, unknown?][] = [
      ["POST", "/api/v1/servers", body("lb-1")],
      ["PUT", "/api/v1/servers/lb-1", body("lb-1", "http://127.0.0.1:10/hook")],
      ["POST", "/api/v1/servers/lb-1/rotate-secret", {}],
      ["DELETE", "/api/v1/servers/lb-1"],
    ];
    await dispatcherApplyingAfter("quick", 20);
    await dispatcherApplyingAfter("slower", 120);
    for (const [method, path, payload] of calls) {
      const [res, ms] = await timed(h.call(method, path, payload));
      expect(res.status, `${method} ${path}`).toBeLessThan(300);
      expect(res.headers.get("x-mcic-dispatchers")).toBe("applied");
      expect(ms, `${method} ${path}`).toBeGreaterThanOrEqual(110);
      expect(ms).toBeLessThan(SYNC_MS);
    }
  });

  it("waits for no dispatcher whose heartbeat stopped", async () => {
    const stale = Date.now() - 60_000;
    await h.redis.zadd(h.registry.keys.dispatchers, stale, "gone");
    const [res, ms] = await timed(h.call("POST", "/api/v1/servers", body("lb-1")));
    expect(res.headers.get("x-mcic-dispatchers")).toBe("applied");
    expect(ms).toBeLessThan(SYNC_MS);
  });

  it("answers at the deadline when a live dispatcher does not confirm: stored, `unconfirmed`, logged by name, counted", async () => {
    await presence.beat("stuck-replica");
    await dispatcherApplyingAfter("fine-replica", 50);
    const [res, ms] = await timed(h.call("POST", "/api/v1/servers", body("lb-1")));
    expect(res.status).toBe(201);
    expect(res.body.secret).toMatch(/^whsec_/);
    expect(res.headers.get("x-mcic-dispatchers")).toBe("unconfirmed");
    expect(ms).toBeGreaterThanOrEqual(SYNC_MS - 5);
    expect((await h.call("GET", "/api/v1/servers/lb-1")).status).toBe(200);

    const warning = h.logLines
      .map((l) => JSON.parse(l) as { msg: string; dispatchers?: string[] })
      .find((l) => l.msg === "dispatchers did not confirm a server change in time");
    expect(warning?.dispatchers).toEqual(["stuck-replica"]);
    const metrics = (await h.call("GET", "/metrics")).text;
    expect(metrics).toMatch(/mcic_api_dispatcher_sync_total\{outcome="timeout",service="api"\} 1/);
  });
});
