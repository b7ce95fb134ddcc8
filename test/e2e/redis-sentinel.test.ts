import {
  type Receiver,
  type RedisSentinelSet,
  type TestServer,
  startNats,
  startReceiver,
  startRedisSentinel,
  waitFor,
} from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { type Stack, startStack } from "../support/stack.js";
import { caDataOf, selfSignedCert } from "../support/tls.js";

const ING = "networking.k8s.io/v1/ingresses";

/** "ADDED ns/name" for every delivered CloudEvent, in arrival order. */
const summary = (r: Receiver) =>
  r.requests.map((q) => {
    const e = JSON.parse(q.body) as { subject: string; data: { type: string } };
    return `${e.data.type} ${e.subject}`;
  });

describe("the stack on Redis Sentinel", () => {
  let nats: TestServer;
  let sentinel: RedisSentinelSet;
  let sim: KubeSim;
  let stack: Stack;
  const receivers: Receiver[] = [];
  const simTls = selfSignedCert();

  beforeAll(async () => {
    [nats, sentinel, sim] = await Promise.all([
      startNats(),
      startRedisSentinel({ password: "sentinel-pw" }),
      KubeSim.start({ tokens: ["t"], tls: simTls }),
    ]);
    stack = await startStack({ natsUrl: nats.url, redisUrl: sentinel.url });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all(receivers.map((r) => r.close()));
    await sim?.stop();
    await Promise.all([nats?.stop(), sentinel?.stop()]);
  });

  async function registerServer(name: string): Promise<Receiver> {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const body = { name, url: receiver.url, filters: { clusters: ["east"] } };
    // During a failover the API answers 503; a retry after a reply lost on the way finds it created.
    await waitFor(async () => [201, 409].includes((await stack.api("/api/v1/servers", { body })).status), {
      timeoutMs: 20_000,
      intervalMs: 250,
      message: `server ${name} registered`,
    });
    return receiver;
  }

  it("delivers changes made after the master is killed, to servers registered before and after", async () => {
    const before = await registerServer("before");
    const sc = sim.cluster("east");
    const res = await stack.api("/api/v1/clusters", {
      body: { name: "east", server: sc.url, token: "t", caData: caDataOf(simTls) },
    });
    expect(res.status).toBe(201);
    sc.create(ING, { metadata: { namespace: "shop", name: "web" } });
    await before.waitForCount(1, 15_000);

    const killed = await sentinel.killMaster();
    await waitFor(async () => (await sentinel.master()).port !== killed.port, {
      timeoutMs: 20_000,
      intervalMs: 200,
      message: "a replica promoted",
    });
    sc.create(ING, { metadata: { namespace: "shop", name: "after-failover" } });
    await waitFor(() => summary(before).includes("ADDED shop/after-failover"), {
      timeoutMs: 25_000,
      message: "the change made after the failover delivered",
    });

    // The API writes to the new master and the dispatcher hears of the new server.
    const after = await registerServer("after");
    sc.create(ING, { metadata: { namespace: "shop", name: "later" } });
    await waitFor(() => summary(after).includes("ADDED shop/later"), {
      timeoutMs: 20_000,
      message: "the later change delivered to the server registered after the failover",
    });
    await waitFor(() => summary(before).includes("ADDED shop/later"), { message: "the later change to before" });
    // Nothing lost; the failover may repeat a delivery, never skip one.
    expect(new Set(summary(before))).toEqual(
      new Set(["ADDED shop/web", "ADDED shop/after-failover", "ADDED shop/later"]),
    );
    for (const service of Object.values(stack.services)) {
      expect(service.child.exitCode).toBeNull();
      // The config log line and the connection errors name the sentinels, never the password.
      expect(service.lines.join("\n")).not.toContain("sentinel-pw");
      const starting = await service.waitForLog("starting");
      expect((starting.config as Record<string, unknown>).REDIS_URL).toMatch(/^redis\+sentinel:\/\/\[redacted\]@127/);
    }
  });
});
