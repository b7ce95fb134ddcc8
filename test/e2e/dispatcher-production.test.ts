import { type Receiver, type TestServer, startNats, startReceiver, startRedis, waitFor } from "@mcic/core/testing";
import { redisKeys } from "@mcic/core";
import { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EventPublisher, ingressEnvelope } from "../support/events.js";
import { type ServiceProcess, type Stack, scrapeMetric, startService, startStack } from "../support/stack.js";

interface Got {
  id: string;
  data: { uid: string; resourceVersion: string; name: string };
}
const parsed = (r: Receiver) => r.requests.map((q) => JSON.parse(q.body) as Got);
const acceptedIds = (r: Receiver) => new Set((r.delivered() as Got[]).map((e) => e.id));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

describe("dispatcher in production", () => {
  let nats: TestServer;
  let redis: TestServer;
  let stack: Stack;
  let events: EventPublisher;
  const receivers: Receiver[] = [];
  const extra: ServiceProcess[] = [];

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    stack = await startStack({
      natsUrl: nats.url,
      redisUrl: redis.url,
      env: { DISPATCH_RETRY_SCHEDULE: "200ms,400ms,800ms", DISPATCH_TIMEOUT_MS: "1000" },
    });
    events = await EventPublisher.connect(nats.url);
  }, 60_000);
  afterAll(async () => {
    await events?.close();
    await Promise.all(extra.map((s) => s.kill("SIGKILL")));
    await stack?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });
  /** Dispatcher processes alive now. */
  const dispatchers = () =>
    [stack.services.dispatcher, ...extra].filter((d) => d.child.exitCode === null && d.child.signalCode === null);

  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  async function server(
    name: string,
    cluster: string,
    body: object = {},
  ): Promise<{ receiver: Receiver; secret: string }> {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const res = await stack.api("/api/v1/servers", {
      body: { name, url: receiver.url, filters: { clusters: [cluster] }, ...body },
    });
    expect(res.status).toBe(201);
    // Dispatchers learn of a new server from a change notice, a few ms later: wait until all have.
    await Promise.all(dispatchers().map((d) => d.waitForLog("server change applied", 5000, { server: name })));
    return { receiver, secret: res.body.secret };
  }

  it("three replicas share the work, and with one killed -9 mid-stream none of 1,000 events is lost", async () => {
    const { receiver, secret } = await server("bulk-rx", "bulk");
    for (let n = 0; n < 2; n++) {
      const d = startService("dispatcher", { ...stack.env });
      extra.push(d);
      await d.waitForLog("ready");
    }
    await waitFor(async () => (await fetch(`${stack.apiUrl}/readyz`)).ok);
    const all = Array.from({ length: 1000 }, (_, i) => ingressEnvelope("bulk", `ing-${i}`, i + 1));
    await events.publish(all.slice(0, 300));
    await waitFor(() => receiver.requests.length >= 100, { message: "deliveries under way" });
    await extra[0]?.kill("SIGKILL");
    await events.publish(all.slice(300));
    await waitFor(() => acceptedIds(receiver).size === 1000, {
      timeoutMs: 30_000,
      message: `1000 distinct events (got ${acceptedIds(receiver).size})`,
    });
    // Queue semantics: every replica that stayed up took a share.
    for (const d of dispatchers()) {
      expect(await scrapeMetric(d, "mcic_dispatcher_deliveries_total", 'server="bulk-rx"')).toBeGreaterThan(0);
    }
    const wh = new Webhook(secret);
    for (const r of receiver.requests) {
      wh.verify(r.body, {
        "webhook-id": String(r.headers["webhook-id"]),
        "webhook-timestamp": String(r.headers["webhook-timestamp"]),
        "webhook-signature": String(r.headers["webhook-signature"]),
      });
    }
  });

  it("delivers each event once in normal operation, and one object's versions never out of order", async () => {
    expect(dispatchers().length).toBeGreaterThan(1);
    const { receiver } = await server("order-rx", "order");
    const versions = Array.from({ length: 60 }, (_, i) => ingressEnvelope("order", "same", 100 + i));
    const others = Array.from({ length: 200 }, (_, i) => ingressEnvelope("order", `o-${i}`, 1));
    await events.publish([...versions, ...others]);
    await waitFor(() => acceptedIds(receiver).size >= 200 && acceptedIds(receiver).has(versions.at(-1)?.id ?? ""), {
      timeoutMs: 20_000,
      message: "all objects and the newest version",
    });
    const got = parsed(receiver);
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
    // Several replicas share the stream: a version that lost the race to a newer one is skipped
    // (recorded as superseded), but none arrives after a newer one.
    const same = got.filter((e) => e.data.name === "same").map((e) => Number(e.data.resourceVersion));
    expect(same).toEqual([...same].sort((a, b) => a - b));
    expect(same.at(-1)).toBe(159);
    // Every version is accounted for in the delivery log: delivered, or superseded by a newer one.
    const redisClient = new Redis(redis.url);
    const sameIds = new Set(versions.map((v) => v.id));
    await waitFor(
      async () => {
        const log = (await redisClient.lrange(redisKeys("mcic").deliveries("order-rx"), 0, -1)).map((t) =>
          JSON.parse(t),
        );
        const settled = log.filter((d) => sameIds.has(d.eventId) && ["delivered", "superseded"].includes(d.outcome));
        return new Set(settled.map((d) => d.eventId)).size === 60;
      },
      { message: "all 60 versions settled in the delivery log" },
    );
    redisClient.disconnect();
  });

  it("gives a receiver that was down everything once it is back, and survives a dispatcher restart meanwhile", async () => {
    const { receiver } = await server("flaky-rx", "flaky");
    receiver.respond = () => ({ status: 503 });
    await events.publish(Array.from({ length: 20 }, (_, i) => ingressEnvelope("flaky", `f-${i}`, 1)));
    await waitFor(() => receiver.requests.length >= 20, { message: "first attempts" });
    // Retries live in JetStream: a dispatcher killed now loses none of them.
    await stack.services.dispatcher.kill("SIGKILL");
    const replacement = startService("dispatcher", stack.env);
    extra.push(replacement);
    await replacement.waitForLog("ready");
    await waitFor(
      async () => {
        const res = await stack.api("/api/v1/servers/flaky-rx");
        return res.body.status.pending > 0 && res.body.status.lastFailureAt;
      },
      { message: "pending retries in status" },
    );
    receiver.respond = () => ({ status: 204 });
    await waitFor(() => acceptedIds(receiver).size === 20, { timeoutMs: 20_000, message: "all 20 after recovery" });
  });

  it("keeps a healthy server fast while another hangs", async () => {
    const healthy = await server("fast-rx", "iso");
    const measure = async (offset: number) => {
      const latencies: number[] = [];
      for (let i = 0; i < 200; i++) {
        const before = healthy.receiver.requests.length;
        const sentAt = Date.now();
        await events.publish([ingressEnvelope("iso", `lat-${offset + i}`, 1)]);
        await waitFor(() => healthy.receiver.requests.length > before, { intervalMs: 1, message: "healthy delivery" });
        latencies.push((healthy.receiver.requests.at(-1)?.at ?? sentAt) - sentAt);
      }
      return percentile(latencies, 99);
    };
    const baseline = await measure(0);
    const hanging = await server("hang-rx", "iso");
    hanging.receiver.respond = () => ({ status: 204, delayMs: 30_000 });
    const withHanging = await measure(1000);
    // A server that held others up would add its 1 s unanswered-attempt limit to their deliveries;
    // scheduling hiccups on a loaded 2-core machine reach tens of ms, so the bound sits between. On
    // a machine loaded far beyond that (other suites, benchmarks at load 20) the baseline measured
    // just before on the same path shows it, and the hanging server's own attempts cost CPU too
    // (p99 76-123 ms before, 131-333 ms with it, at load 17-22): the bound follows the baseline up
    // to three times, and never reaches the 1 s that a hold-up would add.
    const bound = Math.min(900, Math.max(250, 3 * baseline));
    expect(withHanging, `p99 ${withHanging} ms with a hanging server, ${baseline} ms before`).toBeLessThanOrEqual(
      bound,
    );
    expect(hanging.receiver.requests.length).toBeGreaterThan(0);
  });

  it("dead-letters a 4xx at once, disables a server on 410, and gives up after maxAttempts", async () => {
    const rejecting = await server("reject-rx", "dlq");
    rejecting.receiver.respond = () => ({ status: 422 });
    const gone = await server("gone-rx", "dlq");
    gone.receiver.respond = () => ({ status: 410 });
    const limited = await server("limited-rx", "dlq", { retry: { maxAttempts: 2 } });
    limited.receiver.respond = () => ({ status: 500 });
    await events.publish([ingressEnvelope("dlq", "x", 1)]);

    await waitFor(async () => (await stack.api("/api/v1/servers/reject-rx")).body.status.deadLetters === 1, {
      message: "422 dead letter",
    });
    expect(rejecting.receiver.requests).toHaveLength(1);
    const disabled = await waitFor(
      async () => {
        const s = (await stack.api("/api/v1/servers/gone-rx")).body.status;
        return s.state === "disabled" && s;
      },
      { message: "disabled after 410" },
    );
    expect(disabled.reason).toMatch(/410/);
    await waitFor(async () => (await stack.api("/api/v1/servers/limited-rx")).body.status.deadLetters === 1, {
      message: "dead letter after 2 attempts",
    });
    expect(limited.receiver.requests).toHaveLength(2);

    // A disabled server gets nothing more.
    await events.publish([ingressEnvelope("dlq", "y", 1)]);
    await waitFor(() => rejecting.receiver.requests.length === 2, { message: "second event elsewhere" });
    expect(gone.receiver.requests).toHaveLength(1);
  });

  it("supersedes an older event waiting for retry with a newer one of the same object", async () => {
    const { receiver } = await server("super-rx", "super");
    let failing = true;
    receiver.respond = () => ({ status: failing ? 503 : 204 });
    await events.publish([ingressEnvelope("super", "obj", 1)]);
    await waitFor(() => receiver.requests.length >= 1, { message: "first attempt" });
    await events.publish([ingressEnvelope("super", "obj", 2)]);
    await waitFor(() => receiver.requests.length >= 2, { message: "second event tried" });
    failing = false;
    await waitFor(() => acceptedIds(receiver).has("super/uid-obj/2/MODIFIED"), {
      timeoutMs: 10_000,
      message: "newest delivered",
    });
    const redisClient = new Redis(redis.url);
    const log = await waitFor(
      async () => {
        const entries = (await redisClient.lrange(redisKeys("mcic").deliveries("super-rx"), 0, -1)).map((t) =>
          JSON.parse(t),
        );
        return entries.some((d) => d.outcome === "superseded") && entries;
      },
      { message: "older event superseded" },
    );
    redisClient.disconnect();
    expect(log.find((d: { outcome: string }) => d.outcome === "superseded").eventId).toBe("super/uid-obj/1/MODIFIED");
    const accepted = (receiver.delivered() as Got[]).map((e) => Number(e.data.resourceVersion));
    // Whatever reached the server went forward in time: never rv 1 after rv 2.
    expect(accepted.at(-1)).toBe(2);
    expect(accepted.filter((v) => v === 1)).toHaveLength(0);
  });
});
