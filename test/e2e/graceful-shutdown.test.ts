import { type TestServer, startNats, startReceiver, startRedis, waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { type ServiceProcess, type Stack, startService, startStack } from "../support/stack.js";

const ING = "networking.k8s.io/v1/ingresses";
const LEASE_TTL_MS = 10_000;

describe("graceful shutdown under load", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let stack: Stack;

  beforeAll(async () => {
    [nats, redis, sim] = await Promise.all([startNats(), startRedis(), KubeSim.start()]);
    stack = await startStack({
      natsUrl: nats.url,
      redisUrl: redis.url,
      env: {
        LEASE_TTL_MS: String(LEASE_TTL_MS),
        // Messages a stopping dispatcher had pulled but not received come back after the ack wait
        // (3 x this timeout); keep it short so the test sees them within its deadline.
        DISPATCH_TIMEOUT_MS: "2000",
      },
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await sim?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  async function sigterm(svc: ServiceProcess): Promise<number> {
    const started = Date.now();
    expect(await svc.kill("SIGTERM")).toBe(0);
    return Date.now() - started;
  }

  it("every service exits 0 within 10 s on SIGTERM while changes flow, and no change is lost", async () => {
    const sc = sim.cluster("busy");
    const receiver = await startReceiver();
    try {
      await stack.api("/api/v1/servers", {
        body: { name: "busy-rx", url: receiver.url, filters: { clusters: ["busy"] } },
      });
      expect((await stack.api("/api/v1/clusters", { body: { name: "busy", server: sc.url } })).status).toBe(201);
      const second = startService("watcher", { ...stack.env, WATCHER_ID: "second" });
      await second.waitForLog("ready");

      // A steady stream of changes for the whole test.
      let n = 0;
      const churn = setInterval(() => {
        for (let i = 0; i < 5; i++) sc.create(ING, { metadata: { namespace: "ns", name: `obj-${n++}` } });
      }, 20);
      try {
        await waitFor(() => receiver.requests.length >= 50, { message: "deliveries under way" });
        const owner = await waitFor(
          async () => (await stack.api("/api/v1/clusters/busy")).body.status.resources[0]?.watcherId,
        );
        const [ownerProc, otherProc] =
          owner === "second" ? [second, stack.services.watcher] : [stack.services.watcher, second];

        // The owner hands its cluster over on SIGTERM: the other replica takes it long before the
        // 10 s lease would have run out.
        expect(await sigterm(ownerProc)).toBeLessThan(10_000);
        const handedAt = Date.now();
        await waitFor(
          async () => {
            const s = (await stack.api("/api/v1/clusters/busy")).body.status.resources[0];
            return s?.watcherId !== owner && s?.state === "watching";
          },
          { timeoutMs: 5000, message: "handover" },
        );
        expect(Date.now() - handedAt).toBeLessThan(LEASE_TTL_MS / 2);

        expect(await sigterm(stack.services.dispatcher)).toBeLessThan(10_000);
        const dispatcher = startService("dispatcher", stack.env);
        await dispatcher.waitForLog("ready");
        (stack.services as Record<string, ServiceProcess>).dispatcher = dispatcher;

        expect(await sigterm(stack.services.api)).toBeLessThan(10_000);
        const api = startService("api", { ...stack.env, API_PORT: new URL(stack.apiUrl).port });
        await api.waitForLog("listening");
        (stack.services as Record<string, ServiceProcess>).api = api;
        (stack.services as Record<string, ServiceProcess>).watcher = otherProc;
      } finally {
        clearInterval(churn);
      }
      const created = n;
      const names = () => new Set((receiver.delivered() as { subject: string }[]).map((e) => e.subject));
      await waitFor(() => names().size >= created, { timeoutMs: 30_000, message: `all ${created} objects delivered` });
      for (let i = 0; i < created; i++) expect(names().has(`ns/obj-${i}`)).toBe(true);
    } finally {
      await receiver.close();
    }
  });
});
