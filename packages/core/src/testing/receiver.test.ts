import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Receiver, startReceiver } from "./receiver.js";
import { waitFor } from "./wait-for.js";

const receivers: Receiver[] = [];

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
}

describe("startReceiver", () => {
  it("listens on loopback and answers 204 by default", async () => {
    const r = await receiver();
    expect(r.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hook$/);
    const res = await post(r.url, '{"a":1}');
    expect(res.status).toBe(204);
  });

  it("records method, path, headers and body of each request", async () => {
    const r = await receiver();
    const before = Date.now();
    await post(`${r.url}?x=1`, '{"id":"e1"}', { "webhook-id": "e1" });
    expect(r.requests).toHaveLength(1);
    const [req] = r.requests;
    expect(req).toMatchObject({ method: "POST", path: "/hook?x=1", body: '{"id":"e1"}' });
    expect(req?.headers["webhook-id"]).toBe("e1");
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(req?.at).toBeGreaterThanOrEqual(before);
  });

  it("answers with the status respond chooses, per request", async () => {
    const r = await receiver();
    r.respond = (req) =>
      req.body.includes("fail") ? { status: 503, headers: { "retry-after": "7" } } : { status: 200 };
    const bad = await post(r.url, '{"fail":true}');
    expect(bad.status).toBe(503);
    expect(bad.headers.get("retry-after")).toBe("7");
    expect((await post(r.url, '{"ok":true}')).status).toBe(200);
    expect(r.requests.map((q) => q.body)).toEqual(['{"fail":true}', '{"ok":true}']);
  });

  it("lists in delivered() only the bodies answered 2xx, parsed", async () => {
    const r = await receiver();
    const statuses = [500, 202, 410, 200, 429, 299, 300];
    let i = 0;
    r.respond = () => ({ status: statuses[i++] ?? 500 });
    for (let n = 0; n < statuses.length; n++) await post(r.url, JSON.stringify({ n }));
    expect(r.requests).toHaveLength(7);
    expect(r.delivered()).toEqual([{ n: 1 }, { n: 3 }, { n: 5 }]);
  });

  it("keeps a body that is not JSON as text in delivered()", async () => {
    const r = await receiver();
    await post(r.url, "plain text");
    expect(r.delivered()).toEqual(["plain text"]);
  });

  it("waits for a number of requests", async () => {
    const r = await receiver();
    const waiting = r.waitForCount(3);
    await Promise.all([post(r.url, "1"), post(r.url, "2"), post(r.url, "3")]);
    const got = await waiting;
    expect(got.map((q) => q.body).sort()).toEqual(["1", "2", "3"]);
  });

  it("fails waitForCount with what it got when too few arrive", async () => {
    const r = await receiver();
    await post(r.url, "1");
    await expect(r.waitForCount(2, 100)).rejects.toThrow(/2 requests .*got 1/);
  });

  it("delays its answer when asked, recording the request at once", async () => {
    const r = await receiver();
    r.respond = () => ({ status: 200, delayMs: 500 });
    const started = Date.now();
    const pending = post(r.url, '{"slow":true}');
    await r.waitForCount(1);
    expect(r.delivered()).toEqual([]);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(r.delivered()).toEqual([{ slow: true }]);
  });

  it("counts the connections it accepted, even one that sent no request", async () => {
    const r = await receiver();
    expect(r.connections).toBe(0);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(new URL(r.url).port), "127.0.0.1", () => socket.end());
      socket.once("close", () => resolve()).once("error", reject);
    });
    await waitFor(() => r.connections === 1, { timeoutMs: 2000, message: "the bare connection counted" });
    expect(r.requests).toEqual([]);
    r.reset();
    expect(r.connections).toBe(0);
  });

  it("listens on another loopback address when asked", async () => {
    const r = await startReceiver({ host: "127.0.0.2" });
    receivers.push(r);
    expect(r.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+\/hook$/);
    expect((await post(r.url, "{}")).status).toBe(204);
  });

  it("closes even with a keep-alive connection open", async () => {
    const r = await startReceiver();
    await post(r.url, "1");
    await r.close();
    await expect(post(r.url, "2")).rejects.toThrow();
  });
});
