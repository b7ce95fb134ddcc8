import { type Receiver, type TestServer, startNats, startReceiver, startRedis, waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { type Stack, startStack } from "../support/stack.js";

const ING = "networking.k8s.io/v1/ingresses";
// The defaults plus loopback's usual addresses: `localhost` is then out of reach, while the other
// 127.x addresses (where this test's cluster and receiver listen) stay allowed. NATS and Redis are
// not outbound HTTP, so the services still reach them at 127.0.0.1.
const DENY = "169.254.0.0/16,fe80::/10,0.0.0.0/8,127.0.0.1/32,::1/128";

describe("the egress policy (MCIC_EGRESS_DENY) in every service", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let hiddenSim: KubeSim;
  let stack: Stack;
  let allowed: Receiver;
  let denied: Receiver;

  beforeAll(async () => {
    [nats, redis, sim, hiddenSim, allowed, denied] = await Promise.all([
      startNats(),
      startRedis(),
      KubeSim.start({ host: "127.0.0.3" }),
      KubeSim.start(),
      startReceiver({ host: "127.0.0.2" }),
      startReceiver(),
    ]);
    stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url, env: { MCIC_EGRESS_DENY: DENY } });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await Promise.all([sim?.stop(), hiddenSim?.stop(), allowed?.close(), denied?.close()]);
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  const resources = async (cluster: string): Promise<{ state: string; message?: string }[]> =>
    (await stack.api(`/api/v1/clusters/${cluster}`)).body.status?.resources ?? [];

  it("dead-letters at once the events of a server whose hostname resolves into a denied range, and never connects to it", async () => {
    const deniedUrl = denied.url.replace("127.0.0.1", "localhost");
    for (const [name, url] of [
      ["behind-localhost", deniedUrl],
      ["reachable", allowed.url],
    ]) {
      const res = await stack.api("/api/v1/servers", {
        body: { name, url, filters: { clusters: ["open"] }, snapshot: false },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const sc = sim.cluster("open");
    expect((await stack.api("/api/v1/clusters", { body: { name: "open", server: sc.url } })).status).toBe(201);
    await waitFor(async () => (await resources("open")).every((r) => r.state === "watching"), {
      timeoutMs: 10_000,
      message: "cluster open to be watching",
    });
    sc.create(ING, { metadata: { namespace: "shop", name: "web" } });

    // The other server gets its event...
    const [got] = await allowed.waitForCount(1);
    expect(JSON.parse(got?.body ?? "{}")).toMatchObject({ subject: "shop/web", data: { type: "ADDED" } });
    // ...the refused one has it dead-lettered after one attempt, with the reason.
    const dead = await waitFor(
      async () => {
        const res = await stack.api("/api/v1/servers/behind-localhost/dead-letters");
        return res.body.length === 1 && res.body;
      },
      { timeoutMs: 10_000, message: "the dead letter of the refused server" },
    );
    expect(dead[0]).toMatchObject({
      status: 0,
      attempts: 1,
      error: expect.stringMatching(/^egress denied: localhost .*denied range/),
      envelope: { name: "web", type: "ADDED" },
    });
    const log = (await stack.api("/api/v1/servers/behind-localhost/deliveries")).body;
    expect(log).toEqual([
      expect.objectContaining({ attempt: 1, outcome: "dead-lettered", error: expect.stringMatching(/egress denied/) }),
    ]);
    expect(denied.connections).toBe(0);
  });

  it("answers a test ping to that server with ok false and the error class alone", async () => {
    const res = await stack.api("/api/v1/servers/behind-localhost/test", { method: "POST" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: false, status: 0, durationMs: expect.any(Number), error: "egress denied" });
    expect((await stack.api("/api/v1/servers/reachable/test", { method: "POST" })).body).toMatchObject({
      ok: true,
      status: 204,
    });
    expect(denied.connections).toBe(0);
  });

  it("shows a cluster whose API server resolves into a denied range as error, retried with back-off", async () => {
    const server = hiddenSim.cluster("hidden").url.replace("127.0.0.1", "localhost");
    expect((await stack.api("/api/v1/clusters", { body: { name: "hidden", server } })).status).toBe(201);
    const failed = await waitFor(
      async () => {
        const states = await resources("hidden");
        return states.length > 0 && states.every((r) => r.state === "error") && states;
      },
      { timeoutMs: 10_000, message: "cluster hidden to show error" },
    );
    for (const r of failed) expect(r.message).toMatch(/egress denied/);
    const retries = await waitFor(
      () => {
        const lines = stack.services.watcher.lines.flatMap((line) => {
          try {
            const parsed = JSON.parse(line) as { msg?: string; cluster?: string; err?: string; retryInMs?: number };
            return parsed.msg === "watch failed" && parsed.cluster === "hidden" ? [parsed] : [];
          } catch {
            return [];
          }
        });
        return lines.length >= 2 && lines;
      },
      { timeoutMs: 10_000, message: "the watcher to retry cluster hidden" },
    );
    for (const r of retries) {
      expect(r.err).toMatch(/egress denied/);
      expect(r.retryInMs).toBeGreaterThan(0);
    }

    // Pointed at an allowed address, the same cluster is watched.
    const put = await stack.api("/api/v1/clusters/hidden", {
      method: "PUT",
      body: { name: "hidden", server: sim.cluster("hidden").url },
    });
    expect(put.status).toBe(200);
    await waitFor(async () => (await resources("hidden")).every((r) => r.state === "watching"), {
      timeoutMs: 10_000,
      message: "cluster hidden to be watching once allowed",
    });
  });

  it("refuses registrations that name a denied address, with 400 naming the field", async () => {
    const cases: [string, unknown, string][] = [
      ["/api/v1/servers", { name: "metadata", url: "http://169.254.169.254/" }, "url"],
      ["/api/v1/servers", { name: "loopback", url: "http://127.0.0.1:9/" }, "url"],
      ["/api/v1/clusters", { name: "meta", server: "https://169.254.169.254:6443" }, "server"],
      [
        "/cic/nitro/v1/config/controller",
        { ClusterName: "seeded", KubeURL: sim.url, ServerURL: ["http://169.254.169.254/"] },
        "ServerURL.0",
      ],
    ];
    for (const [path, body, field] of cases) {
      const res = await stack.api(path, { body });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.errors).toEqual([{ path: field, message: expect.stringMatching(/denied range/) }]);
    }
    expect((await stack.api("/api/v1/servers/metadata")).status).toBe(404);
    expect((await stack.api("/api/v1/clusters/seeded")).status).toBe(404);
  });
});
