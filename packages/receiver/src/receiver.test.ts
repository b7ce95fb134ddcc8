import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createReceiver, fileStore, type ReceiverOptions } from "./index.js";
import { newSecret, objectEvent, serve, signed } from "./test-support/events.js";

const SECRET = newSecret();
const KEY = "east/networking.k8s.io/ingresses/shop/web";
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function start(options: Partial<ReceiverOptions> = {}) {
  const events: string[] = [];
  const receiver = createReceiver({
    secrets: [SECRET],
    onEvent: (e) => void events.push(e.id),
    onError: (err) => {
      throw err;
    },
    ...options,
  });
  const http = await serve(receiver.handler);
  cleanup.push(
    () => http.close(),
    () => receiver.close(),
  );
  const send = (event: unknown, secrets = [SECRET], o = {}) => http.post(signed(event as { id: string }, secrets, o));
  return { receiver, http, events, send };
}

describe("@mcic/receiver: what it accepts", () => {
  it("refuses forged, tampered, unsigned and wrongly signed deliveries with 401, applying nothing", async () => {
    const { receiver, http, send } = await start();
    const event = objectEvent({ name: "web", rv: 5, type: "ADDED" });
    expect((await send(event, [newSecret()])).status).toBe(401);
    const good = signed(event, [SECRET]);
    const tampered = { ...good, body: good.body.replace("web.example.com", "evil.example.com") };
    const res = await http.post(tampered);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.errors).toEqual([{ path: "webhook-signature", message: expect.any(String) }]);
    for (const h of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const { [h]: _gone, ...headers } = good.headers;
      const r = await http.post({ ...good, headers });
      expect(r.status).toBe(401);
      expect(r.body.errors[0].path).toBe(h);
    }
    // A valid signature of another id does not carry over to this one.
    expect((await http.post({ ...good, headers: { ...good.headers, "webhook-id": "other" } })).status).toBe(401);
    expect(receiver.state.size).toBe(0);
  });

  it("refuses a timestamp more than 5 minutes old or ahead with 401", async () => {
    // A fixed clock: the 5-minute boundary must not move while the test runs.
    const now = Math.floor(Date.now() / 1000);
    const { receiver, send } = await start({ now: () => now * 1000 });
    const event = objectEvent({ name: "web", rv: 5, type: "ADDED" });
    const stale = await send(event, [SECRET], { timestamp: now - 301 });
    expect(stale.status).toBe(401);
    expect(stale.body.errors[0].path).toBe("webhook-timestamp");
    expect((await send(event, [SECRET], { timestamp: now + 301 })).status).toBe(401);
    expect(receiver.state.size).toBe(0);
    expect((await send(event, [SECRET], { timestamp: now - 240 })).status).toBe(200);
    expect(receiver.state.size).toBe(1);
  });

  it("answers 400 naming the field for signed bodies that are not mcic CloudEvents, applying nothing", async () => {
    const { receiver, send } = await start();
    const good = objectEvent({ name: "web", rv: 5, type: "ADDED" });
    const cases: [unknown, string | undefined][] = [
      ["not json", undefined],
      [{ ...good, specversion: "0.3" }, "specversion"],
      [{ ...good, data: { ...good.data, resourceVersion: 5 } }, "data.resourceVersion"],
      [{ ...good, data: { ...good.data, name: "../../etc" } }, "data.name"],
      [{ ...good, data: { ...good.data, cluster: "a/b" } }, "data.cluster"],
      [{ ...good, data: { ...good.data, object: "x" } }, "data.object"],
      [{ ...good, data: { ...good.data, type: "DELETED" } }, "type"],
      [{ ...good, type: "dev.mcic.services.added" }, "type"],
    ];
    for (const [body, path] of cases) {
      const text = typeof body === "string" ? body : JSON.stringify(body);
      const res = await send(text, [SECRET], { id: good.id });
      expect(res.status, text).toBe(400);
      if (path) expect(res.body.errors[0].path).toBe(path);
    }
    expect(receiver.state.size).toBe(0);
  });

  it("accepts a ping and other mcic event types with 2xx and changes nothing", async () => {
    const { receiver, send } = await start();
    const ping = { specversion: "1.0", id: "ping-1", source: "/mcic", type: "dev.mcic.ping", time: "", data: {} };
    expect(await send(ping)).toMatchObject({ status: 200, body: { outcome: "ignored" } });
    expect((await send({ ...ping, id: "x", type: "dev.mcic.future.thing" })).status).toBe(200);
    expect(receiver.state.size).toBe(0);
  });

  it("answers 405 to other methods and 413 to bodies over the limit", async () => {
    const { http, send } = await start({ maxBodyBytes: 1000 });
    expect((await http.post({ body: "", headers: {} }, "GET")).status).toBe(405);
    const big = objectEvent({ name: "web", rv: 5, type: "ADDED", object: { pad: "x".repeat(2000) } });
    expect((await send(big)).status).toBe(413);
  });

  it("verifies with either secret during a rotation, and a delivery carrying both signatures", async () => {
    const next = newSecret();
    const { receiver, send } = await start({ secrets: [next, SECRET] });
    expect((await send(objectEvent({ name: "a", rv: 1, type: "ADDED" }), [SECRET])).status).toBe(200);
    expect((await send(objectEvent({ name: "b", rv: 2, type: "ADDED" }), [next])).status).toBe(200);
    expect((await send(objectEvent({ name: "c", rv: 3, type: "ADDED" }), [next, SECRET])).status).toBe(200);
    expect((await send(objectEvent({ name: "d", rv: 4, type: "ADDED" }), [newSecret()])).status).toBe(401);
    expect([...receiver.state.keys()].map((k) => k.split("/").at(-1))).toEqual(["a", "b", "c"]);
  });

  it("refuses to start without a well-formed whsec_ secret", () => {
    expect(() => createReceiver({ secrets: [] })).toThrow(/secrets/);
    expect(() => createReceiver({ secrets: ["plain-password"] })).toThrow(/secrets\[0\]/);
  });
});

describe("@mcic/receiver: how events change the state", () => {
  it("applies a repeated webhook-id once", async () => {
    const { receiver, events, send } = await start();
    const event = objectEvent({ name: "web", rv: 5, type: "ADDED" });
    expect((await send(event)).body.outcome).toBe("applied");
    expect(await send(event)).toMatchObject({ status: 200, body: { outcome: "duplicate" } });
    expect(events).toEqual([event.id]);
    expect(receiver.state.get(KEY)).toEqual(event.data.object);
  });

  it("ignores (2xx) an event older than the version it holds", async () => {
    const { receiver, events, send } = await start();
    const v7 = objectEvent({ name: "web", rv: 7, object: { v: 7 } });
    await send(v7);
    // "10" < "7" as strings but not as revisions: compared as integers.
    const v10 = objectEvent({ name: "web", rv: 10, object: { v: 10 } });
    await send(v10);
    expect(await send(objectEvent({ name: "web", rv: 9, object: { v: 9 } }))).toMatchObject({
      status: 200,
      body: { outcome: "ignored" },
    });
    expect(receiver.state.get(KEY)).toEqual({ v: 10 });
    expect(events).toEqual([v7.id, v10.id]);
  });

  it("DELETED removes the object, and a late older ADDED does not bring it back", async () => {
    const { receiver, send } = await start();
    await send(objectEvent({ name: "web", rv: 5, type: "ADDED" }));
    await send(objectEvent({ name: "web", rv: 8, type: "DELETED" }));
    expect(receiver.state.has(KEY)).toBe(false);
    expect((await send(objectEvent({ name: "web", rv: 6, type: "MODIFIED" }))).body.outcome).toBe("ignored");
    expect(receiver.state.has(KEY)).toBe(false);
    // Re-created later: a newer version is applied.
    await send(objectEvent({ name: "web", rv: 12, type: "ADDED", uid: "uid-2" }));
    expect(receiver.state.has(KEY)).toBe(true);
  });

  it("forgets tombstones after tombstoneTtlMs (pruned at start and hourly)", async () => {
    let now = Date.now();
    const store = fileStore(await tempDir());
    const first = await start({ tombstoneTtlMs: 60_000, now: () => now, store });
    await first.send(objectEvent({ name: "web", rv: 8, type: "DELETED" }));
    expect((await first.send(objectEvent({ name: "web", rv: 6, type: "ADDED" }))).body.outcome).toBe("ignored");
    await first.receiver.close();
    now += 61_000;
    const second = await start({ tombstoneTtlMs: 60_000, now: () => now, store });
    expect((await second.send(objectEvent({ name: "web", rv: 6, type: "ADDED" }))).body.outcome).toBe("applied");
  });

  it("keeps cluster-scoped objects under an empty namespace and core objects under an empty group", async () => {
    const { receiver, send } = await start();
    await send(
      objectEvent({ name: "node-1", namespace: undefined, group: "", resource: "nodes", rv: 3, type: "ADDED" }),
    );
    expect([...receiver.state.keys()]).toEqual(["east//nodes//node-1"]);
  });

  it("holds metadata-only objects as they come for payload: metadata servers", async () => {
    const { receiver, send } = await start();
    const object = {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "web", namespace: "shop" },
    };
    await send(objectEvent({ name: "web", rv: 5, type: "ADDED", object }));
    expect(receiver.state.get(KEY)).toEqual(object);
  });

  it("keeps its state, tombstones included, across a restart with the file store", async () => {
    const dir = await tempDir();
    const first = await start({ store: fileStore(dir) });
    await first.send(objectEvent({ name: "web", rv: 5, type: "ADDED" }));
    await first.send(objectEvent({ name: "api", rv: 6, type: "ADDED" }));
    await first.send(objectEvent({ name: "api", rv: 7, type: "DELETED" }));
    await first.receiver.close();

    const changes: number[] = [];
    const second = await start({ store: fileStore(dir), onChange: (s) => void changes.push(s.size) });
    await second.receiver.ready;
    expect([...second.receiver.state.keys()]).toEqual([KEY]);
    expect(changes).toEqual([1]); // the loaded state is shown once at start
    expect((await second.send(objectEvent({ name: "api", rv: 6, type: "ADDED" }))).body.outcome).toBe("ignored");
    expect((await second.send(objectEvent({ name: "web", rv: 5, type: "ADDED" }))).body.outcome).toBe("ignored");
    expect(second.receiver.state.size).toBe(1);
  });

  it("answers 503 while its store cannot be written, and applies the retry", async () => {
    let broken = true;
    const inner = fileStore(await tempDir());
    const store = {
      ...inner,
      set: (k: string, v: unknown) => (broken ? Promise.reject(new Error("disk full")) : inner.set(k, v)),
    };
    const { receiver, send } = await start({ store });
    const event = objectEvent({ name: "web", rv: 5, type: "ADDED" });
    expect((await send(event)).status).toBe(503);
    expect(receiver.state.size).toBe(0);
    broken = false;
    expect((await send(event)).body.outcome).toBe("applied");
  });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mcic-receiver-"));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
