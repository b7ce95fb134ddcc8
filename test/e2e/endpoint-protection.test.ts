import { type Backends, type DeliveryRecord, connectBackends, createLogger } from "@mcic/core";
import { type Receiver, type TestServer, startNats, startReceiver, startRedis, waitFor } from "@mcic/core/testing";
import { type Dispatcher, createDispatcher, loadDispatcherConfig } from "@mcic/dispatcher/dispatcher";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EventPublisher, ingressEnvelope } from "../support/events.js";
import {
  type ServiceProcess,
  type Stack,
  newSecretKey,
  scrapeMetric,
  startService,
  startStack,
} from "../support/stack.js";

interface Got {
  id: string;
  data: { name: string; resourceVersion: string };
}
const MERGE = { "content-type": "application/merge-patch+json" };

let nats: TestServer;
let redis: TestServer;
const receivers: Receiver[] = [];

beforeAll(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([nats?.stop(), redis?.stop()]);
});
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

describe("rate limits and replays (api, watcher, dispatcher processes)", () => {
  let stack: Stack;
  let events: EventPublisher;

  beforeAll(async () => {
    stack = await startStack({
      natsUrl: nats.url,
      redisUrl: redis.url,
      prefix: "prot",
      env: { DISPATCH_RETRY_SCHEDULE: "200ms", DISPATCH_TIMEOUT_MS: "2000" },
      startTimeoutMs: 60_000,
    });
    events = await EventPublisher.connect(nats.url, "prot");
  }, 120_000);
  afterAll(async () => {
    await events?.close();
    await stack?.stop();
  });

  async function register(name: string, url: string, body: object = {}): Promise<void> {
    const res = await stack.api("/api/v1/servers", { body: { name, url, snapshot: false, ...body } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    await stack.services.dispatcher.waitForLog("server change applied", 5000, { server: name });
  }

  it("delivers everything to a rate-limited server at its rate, none dropped, while an unlimited one gets them at once", async () => {
    const limited = await receiver();
    const free = await receiver();
    await register("limited", limited.url, { filters: { clusters: ["rate"] }, rateLimit: { perSecond: 20 } });
    await register("free", free.url, { filters: { clusters: ["rate"] } });
    const all = Array.from({ length: 60 }, (_, i) => ingressEnvelope("rate", `obj-${i}`, i + 1));
    const t0 = Date.now();
    await events.publish(all);

    await waitFor(() => new Set(free.delivered().map((e) => (e as Got).id)).size === 60, {
      timeoutMs: 15_000,
      message: "60 events at the unlimited server",
    });
    await waitFor(() => new Set(limited.delivered().map((e) => (e as Got).id)).size === 60, {
      timeoutMs: 30_000,
      message: `60 events at the limited server (got ${limited.requests.length})`,
    });
    const arrivals = limited.requests.map((r) => r.at).sort((a, b) => a - b);
    // Slot k of 20 a second (no burst given) is 50 ms × k after the first: by any time T at most
    // (T - t0) / 50 + 1 deliveries can have arrived; one more for millisecond rounding.
    arrivals.forEach((at, i) => {
      expect(i + 1, `delivery ${i + 1} arrived ${at - t0} ms after the publish`).toBeLessThanOrEqual(
        Math.floor((at - t0) / 50) + 2,
      );
    });
    expect((arrivals.at(-1) as number) - t0).toBeGreaterThanOrEqual(59 * 50 - 50);
    // Spread at about the rate, not stalled either: 60 at 20/s is ~3 s.
    expect((arrivals.at(-1) as number) - t0).toBeLessThan(15_000);
    // The unlimited server had everything before the limited one was two-thirds through.
    const freeLast = Math.max(...free.requests.map((r) => r.at));
    expect(freeLast).toBeLessThan(arrivals[39] as number);

    const status = (await stack.api("/api/v1/servers/limited")).body.status;
    expect(status).toMatchObject({ state: "active", deadLetters: 0 });
    // The dispatcher records an attempt once it has the answer, a moment after the receiver saw it.
    const log = await waitFor(
      async () => {
        const records = (await stack.api("/api/v1/servers/limited/deliveries?limit=1000")).body as DeliveryRecord[];
        return records.length >= 60 && records;
      },
      { message: "60 delivery records" },
    );
    expect(log.filter((d) => d.outcome === "delivered")).toHaveLength(60);
    expect(log.filter((d) => d.outcome !== "delivered")).toEqual([]);
    // Counted per delivery that had to wait (one handled after its slot had come needs no wait).
    expect(
      await scrapeMetric(stack.services.dispatcher, "mcic_dispatcher_rate_limited_total", 'server="limited"'),
    ).toBeGreaterThan(0);
    expect(await scrapeMetric(stack.services.dispatcher, "mcic_dispatcher_rate_limited_total", 'server="free"')).toBe(
      0,
    );
  });

  it("PATCH moves a server and lifts its rate limit, keeping its filters, headers and secret", async () => {
    const before = await receiver();
    const after = await receiver();
    const res = await stack.api("/api/v1/servers", {
      body: {
        name: "patched",
        url: before.url,
        snapshot: false,
        filters: { clusters: ["patch"], namespaces: ["ns"] },
        headers: { "X-Api-Key": "kept-key" },
        rateLimit: { perSecond: 1 },
      },
    });
    expect(res.status).toBe(201);
    const secret = res.body.secret as string;
    const patched = await stack.api("/api/v1/servers/patched", {
      method: "PATCH",
      body: { url: after.url, rateLimit: null },
    });
    expect(patched.status).toBe(200);
    expect(patched.headers.get("x-mcic-dispatchers")).toBe("applied");
    expect(patched.body).toMatchObject({ filters: { clusters: ["patch"], namespaces: ["ns"] } });
    expect(patched.body.rateLimit).toBeUndefined();
    // Three events at once: none waits for a limit any more; they reach the new URL, signed with
    // the secret given at registration and with the header kept.
    await events.publish([1, 2, 3].map((i) => ingressEnvelope("patch", `p-${i}`, i)));
    const got = await after.waitForCount(3, 10_000);
    expect(
      await scrapeMetric(stack.services.dispatcher, "mcic_dispatcher_rate_limited_total", 'server="patched"'),
    ).toBe(0);
    const wh = new Webhook(secret);
    for (const r of got) {
      expect(r.headers["x-api-key"]).toBe("kept-key");
      wh.verify(r.body, {
        "webhook-id": String(r.headers["webhook-id"]),
        "webhook-timestamp": String(r.headers["webhook-timestamp"]),
        "webhook-signature": String(r.headers["webhook-signature"]),
      });
    }
    expect(before.requests).toHaveLength(0);
  });

  it("replays dead letters oldest first, and never a version older than one the server already received", async () => {
    const rx = await receiver();
    await register("replay", rx.url, { filters: { clusters: ["replay"] } });
    // The receiver refuses (422: dead-lettered at once) until told otherwise.
    let accept = false;
    rx.respond = () => ({ status: accept ? 204 : 422 });
    const deadLetters = async () => (await stack.api("/api/v1/servers/replay")).body.status.deadLetters;
    // One at a time, so they are dead-lettered in this order.
    const refused = [
      ingressEnvelope("replay", "same", 22),
      ingressEnvelope("replay", "same", 23),
      ingressEnvelope("replay", "other", 5),
      ingressEnvelope("replay", "same", 25),
      ingressEnvelope("replay", "other", 6),
      ingressEnvelope("replay", "same", 26),
    ];
    for (const [i, e] of refused.entries()) {
      await events.publish([e]);
      await waitFor(async () => (await deadLetters()) === i + 1, { message: `dead letter ${i + 1}` });
    }
    accept = true;
    await events.publish([ingressEnvelope("replay", "same", 28)]);
    await waitFor(() => rx.delivered().length === 1, { message: "rv 28 delivered" });
    const before = rx.requests.length;

    const replay = await stack.api("/api/v1/servers/replay/dead-letters/replay", { body: {} });
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual({ replayed: 6 });
    const settled = async () => {
      const log = (await stack.api("/api/v1/servers/replay/deliveries?limit=1000")).body as DeliveryRecord[];
      const ids = new Set(refused.map((e) => e.id));
      return log.filter((d) => ids.has(d.eventId) && (d.outcome === "delivered" || d.outcome === "superseded"));
    };
    await waitFor(async () => (await settled()).length === 6, { timeoutMs: 20_000, message: "6 replays settled" });

    // What arrived after the replay: only the object the receiver never had, oldest first.
    const after = rx.requests.slice(before).map((r) => JSON.parse(r.body) as Got);
    expect(after.map((e) => `${e.data.name}/${e.data.resourceVersion}`)).toEqual(["other/5", "other/6"]);
    const skipped = (await settled()).filter((d) => d.outcome === "superseded");
    expect(skipped.map((d) => d.eventId).sort()).toEqual(
      refused
        .filter((e) => e.name === "same")
        .map((e) => e.id)
        .sort(),
    );
    for (const d of skipped) expect(d.error).toBe("the server already received resourceVersion 28");
    expect((await stack.api("/api/v1/servers/replay")).body.status.deadLetters).toBe(0);
  });
});

describe("a server failing for its whole failure window (api process, dispatcher in-process on a stepped clock)", () => {
  const PREFIX = "window";
  let api: ServiceProcess;
  let apiUrl: string;
  let backends: Backends;
  let dispatcher: Dispatcher | undefined;
  let events: EventPublisher;
  let clockStep = 0;

  beforeAll(async () => {
    const secretKey = newSecretKey();
    const env = {
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      MCIC_PREFIX: PREFIX,
      MCIC_SECRET_KEY: secretKey,
      API_PORT: "0",
      METRICS_PORT: "0",
      LOG_LEVEL: "info",
    };
    api = startService("api", env);
    apiUrl = `http://127.0.0.1:${(await api.waitForLog("listening", 60_000)).port}`;
    const logger = createLogger({ name: "dispatcher", level: "silent" });
    backends = await connectBackends({
      service: "endpoint-protection",
      natsUrl: nats.url,
      redisUrl: redis.url,
      prefix: PREFIX,
      replicas: 1,
      streams: ["events", "deliveries"],
      subscriber: true,
      logger,
    });
    dispatcher = createDispatcher({
      config: loadDispatcherConfig({ ...env, DISPATCH_RETRY_SCHEDULE: "100ms", DISPATCH_TIMEOUT_MS: "2000" }),
      logger,
      backends,
      replicaId: "stepped",
      now: () => Date.now() + clockStep,
    });
    await dispatcher.start();
    events = await EventPublisher.connect(nats.url, PREFIX);
  }, 120_000);
  afterAll(async () => {
    await events?.close();
    await api?.kill();
    await dispatcher?.stop();
    await backends?.close();
  });

  const call = async (
    path: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const res = await fetch(`${apiUrl}${path}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: init.body === undefined ? {} : { "content-type": "application/json", ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  it("is disabled with its reason and a notice in GET /servers/{name}, keeps nothing from the others, and a PATCH enables it again", async () => {
    const failing = await receiver();
    failing.respond = () => ({ status: 503 });
    const healthy = await receiver();
    const body = { snapshot: false, filters: { clusters: ["win"] }, disableAfterSeconds: 60 };
    expect((await call("/api/v1/servers", { body: { name: "failing", url: failing.url, ...body } })).status).toBe(201);
    expect((await call("/api/v1/servers", { body: { name: "healthy", url: healthy.url, ...body } })).status).toBe(201);

    // disableAfterSeconds below its minimum is refused, naming the field.
    const tooShort = await call("/api/v1/servers/failing", {
      method: "PATCH",
      body: { disableAfterSeconds: 1 },
      headers: MERGE,
    });
    expect(tooShort.status).toBe(400);
    expect(tooShort.body.errors[0].path).toBe("disableAfterSeconds");

    await events.publish([ingressEnvelope("win", "a", 1)]);
    const failingSince = await waitFor(
      async () => (await call("/api/v1/servers/failing")).body.status.failingSince as string | undefined,
      { message: "failure window started" },
    );
    await waitFor(() => healthy.delivered().length === 1, { message: "healthy server got the event" });
    // Retries keep failing within the window: still active.
    await waitFor(() => failing.requests.length >= 3, { message: "retries" });
    expect((await call("/api/v1/servers/failing")).body.status.state).toBe("active");

    // A minute later by the dispatcher's clock, the next failure disables it.
    clockStep = 61_000;
    const status = await waitFor(
      async () => {
        const s = (await call("/api/v1/servers/failing")).body.status;
        // The disabling is one script; the event's dead letter comes with the recorder's next batch.
        return s.state === "disabled" && s.deadLetters >= 1 && s;
      },
      { message: "disabled after its failure window, the event dead-lettered" },
    );
    expect(status.reason).toBe(`failing since ${failingSince}: HTTP 503`);
    expect(status.notices).toEqual([
      { type: "dev.mcic.server.disabled", at: status.disabledAt, reason: status.reason },
    ]);
    // A registration write is answered once the dispatcher reloaded its servers, the disabled one
    // included: from then on nothing is sent to it, while the others go on.
    expect((await call("/api/v1/servers/healthy", { method: "PATCH", body: {}, headers: MERGE })).status).toBe(200);
    const tried = failing.requests.length;
    await events.publish([ingressEnvelope("win", "b", 1)]);
    await waitFor(() => healthy.delivered().length === 2, { message: "healthy server got the next event" });
    // A disabled server matches no new event (as one disabled by a 410 or by configuration).
    expect(failing.requests.length).toBe(tried);

    // PATCH enabled: true enables it, clears the window, and deliveries resume.
    failing.respond = () => ({ status: 204 });
    const enabled = await call("/api/v1/servers/failing", { method: "PATCH", body: { enabled: true }, headers: MERGE });
    expect(enabled.status).toBe(200);
    const back = (await call("/api/v1/servers/failing")).body.status;
    expect(back.state).toBe("active");
    expect(back).not.toHaveProperty("reason");
    expect(back).not.toHaveProperty("failingSince");
    expect(back).not.toHaveProperty("notices");
    await events.publish([ingressEnvelope("win", "c", 1)]);
    await waitFor(() => failing.delivered().some((e) => (e as Got).data.name === "c"), {
      message: "delivered again after the PATCH",
    });
  });
});
