import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import Koa from "koa";
import { afterEach, describe, expect, it } from "vitest";
import { createReceiver } from "./index.js";
import { newSecret, objectEvent, signed } from "./test-support/events.js";

const SECRET = newSecret();
const KEY = "east/networking.k8s.io/ingresses/shop/web";
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function listen(server: ReturnType<typeof createServer>): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
}

function receiver() {
  const r = createReceiver({ secrets: [SECRET] });
  cleanup.push(() => r.close());
  return r;
}

const post = (url: string, req: { body: string; headers: Record<string, string> }) =>
  fetch(url, { method: "POST", headers: req.headers, body: req.body });

describe("@mcic/receiver adapters", () => {
  it("works as Koa middleware", async () => {
    const r = receiver();
    const app = new Koa();
    app.use(r.koa);
    const url = await listen(createServer(app.callback()));
    const event = objectEvent({ name: "web", rv: 3, type: "ADDED" });
    const res = await post(url, signed(event, [SECRET]));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ outcome: "applied" });
    expect(r.state.get(KEY)).toEqual(event.data.object);
    const forged = await post(url, signed(event, [newSecret()]));
    expect(forged.status).toBe(401);
    expect(forged.headers.get("content-type")).toBe("application/problem+json");
  });

  it("works as Express middleware, reading the stream or a raw body express.raw() left", async () => {
    const r = receiver();
    const errors: unknown[] = [];
    const next = (err?: unknown) => errors.push(err);
    const streaming = await listen(createServer((req, res) => r.express(req, res, next)));
    const event = objectEvent({ name: "web", rv: 3, type: "ADDED" });
    expect((await post(streaming, signed(event, [SECRET]))).status).toBe(200);

    // express.raw(): the body was read into a Buffer before the middleware runs.
    const readFirst = (req: IncomingMessage) =>
      new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c)).on("end", () => resolve(Buffer.concat(chunks)));
      });
    const raw = await listen(
      createServer(async (req, res) => r.express(Object.assign(req, { body: await readFirst(req) }), res, next)),
    );
    const newer = objectEvent({ name: "web", rv: 4 });
    expect((await post(raw, signed(newer, [SECRET]))).status).toBe(200);
    expect(r.state.get(KEY)).toEqual(newer.data.object);
    expect(errors).toEqual([]);
  });

  it("passes Express an error naming the fix when a JSON parser already consumed the body", async () => {
    const r = receiver();
    let error: unknown;
    const parsed = await listen(
      createServer(async (req, res) => {
        for await (const _ of req) {
          // express.json() consumed the stream and left an object
        }
        r.express(Object.assign(req, { body: { parsed: true } }), res, (err) => {
          error = err;
          res.writeHead(500).end();
        });
      }),
    );
    expect((await post(parsed, signed(objectEvent({ name: "web", rv: 3 }), [SECRET]))).status).toBe(500);
    expect(String(error)).toMatch(/raw request body/);
    expect(r.state.size).toBe(0);
  });
});
