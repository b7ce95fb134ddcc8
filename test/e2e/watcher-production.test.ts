import { connect } from "@nats-io/transport-node";
import { type Receiver, type TestServer, startNats, startReceiver, startRedis, waitFor } from "@mcic/core/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { KubeSim, type SimCluster } from "../kube-sim/index.js";
import { type ServiceProcess, type Stack, scrapeMetric, startService, startStack } from "../support/stack.js";
import { caDataOf, selfSignedCert } from "../support/tls.js";

const ING = "networking.k8s.io/v1/ingresses";
const LEASE_TTL_MS = 3000;

interface Delivered {
  type: string;
  subject: string;
  id: string;
  data: { type: string; name: string; namespace?: string; group: string; resource: string; object: any };
}

function events(r: Receiver): Delivered[] {
  return r.requests.map((q) => JSON.parse(q.body) as Delivered);
}
const summary = (r: Receiver) => events(r).map((e) => `${e.data.type} ${e.subject}`);

describe("watcher in production", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let stack: Stack;
  const receivers: Receiver[] = [];
  // Tokens go over TLS only: the API refuses a token for an http:// cluster server.
  const simTls = selfSignedCert();
  const caData = caDataOf(simTls);

  beforeAll(async () => {
    [nats, redis, sim] = await Promise.all([
      startNats(),
      startRedis(),
      KubeSim.start({ tokens: ["t"], bookmarkIntervalMs: 200, tls: simTls }),
    ]);
    stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url, env: { LEASE_TTL_MS: String(LEASE_TTL_MS) } });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await sim?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  async function setup(cluster: string, extra: object = {}, sc: SimCluster = sim.cluster(cluster)) {
    const receiver = await startReceiver();
    receivers.push(receiver);
    expect(
      (
        await stack.api("/api/v1/servers", {
          body: { name: `${cluster}-rx`, url: receiver.url, filters: { clusters: [cluster] } },
        })
      ).status,
    ).toBe(201);
    const res = await stack.api("/api/v1/clusters", {
      body: { name: cluster, server: sc.url, token: "t", caData, ...extra },
    });
    expect(res.status).toBe(201);
    return { receiver, sc };
  }

  async function status(
    cluster: string,
  ): Promise<{ resource: string; state: string; message?: string; watcherId?: string }[]> {
    return (await stack.api(`/api/v1/clusters/${cluster}`)).body.status.resources;
  }
  const waitState = (cluster: string, state: string, timeoutMs = 10_000) =>
    waitFor(async () => (await status(cluster)).every((r) => r.state === state) && status(cluster), {
      timeoutMs,
      message: `${cluster} to be ${state}`,
    });

  async function restartWatcher(): Promise<ServiceProcess> {
    const w = startService("watcher", stack.env);
    await w.waitForLog("ready");
    (stack.services as Record<string, ServiceProcess>).watcher = w;
    return w;
  }

  it("after kill -9, publishes the changes made while it was down exactly once and re-sends nothing unchanged", async () => {
    const { receiver, sc } = await setup("resume");
    for (const n of ["a", "b", "c"]) sc.create(ING, { metadata: { namespace: "ns", name: n } });
    await receiver.waitForCount(3);
    await waitFor(async () => (await status("resume"))[0]?.state === "watching", { message: "watching" });

    expect(await stack.services.watcher.kill("SIGKILL")).toBe("SIGKILL");
    sc.update(ING, { ...sc.get(ING, "ns", "a"), spec: { v: 2 } });
    sc.delete(ING, "ns", "b");
    sc.create(ING, { metadata: { namespace: "ns", name: "d" } });

    const watcher = await restartWatcher();
    await receiver.waitForCount(6);
    sc.create(ING, { metadata: { namespace: "ns", name: "sentinel" } });
    await receiver.waitForCount(7);
    expect(summary(receiver).slice(3).sort()).toEqual([
      "ADDED ns/d",
      "ADDED ns/sentinel",
      "DELETED ns/b",
      "MODIFIED ns/a",
    ]);
    // What the watcher itself published after the restart: the gap and the sentinel, nothing else.
    expect(await scrapeMetric(watcher, "mcic_watcher_events_published_total")).toBe(4);
  });

  it("after compaction (410 Gone) while down, relists and publishes only the difference, deletes included", async () => {
    const { receiver, sc } = await setup("gone");
    for (const n of ["a", "b", "c"])
      sc.create(ING, { metadata: { namespace: "ns", name: n, labels: { keep: "yes" } } });
    await receiver.waitForCount(3);
    await waitFor(async () => (await status("gone"))[0]?.state === "watching", { message: "watching" });
    const bLabels = sc.get(ING, "ns", "b")?.metadata.labels;

    await stack.services.watcher.kill("SIGKILL");
    sc.update(ING, { ...sc.get(ING, "ns", "a"), spec: { v: 2 } });
    sc.delete(ING, "ns", "b");
    sc.create(ING, { metadata: { namespace: "ns", name: "d" } });
    sc.compact();

    const watcher = await restartWatcher();
    await receiver.waitForCount(6);
    sc.create(ING, { metadata: { namespace: "ns", name: "sentinel" } });
    await receiver.waitForCount(7);
    expect(summary(receiver).slice(3).sort()).toEqual([
      "ADDED ns/d",
      "ADDED ns/sentinel",
      "DELETED ns/b",
      "MODIFIED ns/a",
    ]);
    const deleted = events(receiver).find((e) => e.data.type === "DELETED");
    expect(deleted?.data.object.metadata).toMatchObject({ name: "b", namespace: "ns" });
    expect(bLabels).toEqual({ keep: "yes" });
    expect(await scrapeMetric(watcher, "mcic_watcher_relists_total")).toBeGreaterThanOrEqual(1);
    expect(await scrapeMetric(watcher, "mcic_watcher_events_published_total")).toBe(4);
  });

  it("watches a CRD and a cluster-scoped resource, with the subjects the contract gives", async () => {
    const sc = sim.cluster("crds");
    sc.registerResource({
      group: "stable.example.com",
      version: "v1",
      resource: "widgets",
      kind: "Widget",
      namespaced: true,
    });
    const { receiver } = await setup("crds", { resources: ["stable.example.com/v1/widgets", "namespaces"] }, sc);
    await waitState("crds", "watching");
    const nc = await connect({ servers: nats.url });
    const seen: string[] = [];
    const sub = nc.subscribe("mcic.events.crds.>", { callback: (_e, m) => void seen.push(m.subject) });
    // The subscription exists on the server only once it has processed our SUB: flush first.
    await nc.flush();
    sc.create("stable.example.com/v1/widgets", { metadata: { namespace: "x", name: "w1" }, spec: { size: 1 } });
    sc.create("v1/namespaces", { metadata: { name: "team-a" } });
    await receiver.waitForCount(2);
    await waitFor(() => seen.length === 2, { message: "two messages on NATS" });
    expect(seen.sort()).toEqual([
      "mcic.events.crds.core.namespaces._",
      "mcic.events.crds.stable_example_com.widgets.x",
    ]);
    expect(
      events(receiver)
        .map((e) => `${e.type} ${e.subject}`)
        .sort(),
    ).toEqual(["dev.mcic.namespaces.added team-a", "dev.mcic.widgets.added x/w1"]);
    sub.unsubscribe();
    await nc.close();
  });

  it("shows error for a bad credential or a missing resource, and recovers when fixed", async () => {
    const sc = sim.cluster("broken");
    const receiver = await startReceiver();
    receivers.push(receiver);
    await stack.api("/api/v1/servers", {
      body: { name: "broken-rx", url: receiver.url, filters: { clusters: ["broken"] } },
    });
    await stack.api("/api/v1/clusters", { body: { name: "broken", server: sc.url, token: "wrong", caData } });
    const bad = await waitState("broken", "error");
    expect(bad[0]?.message).toMatch(/401/);

    sc.create(ING, { metadata: { namespace: "ns", name: "x" } });
    expect(
      (
        await stack.api("/api/v1/clusters/broken", {
          method: "PUT",
          body: { name: "broken", server: sc.url, token: "t", caData },
        })
      ).status,
    ).toBe(200);
    await waitState("broken", "watching");
    await receiver.waitForCount(1);

    const put = await stack.api("/api/v1/clusters/broken", {
      method: "PUT",
      body: {
        name: "broken",
        server: sc.url,
        token: "t",
        caData,
        resources: ["ingresses", "later.example.com/v1/gadgets"],
      },
    });
    expect(put.status).toBe(200);
    const missing = await waitFor(
      async () =>
        (await status("broken")).find((r) => r.resource === "later.example.com/v1/gadgets" && r.state === "error"),
      { message: "missing resource error" },
    );
    expect(missing.message).toMatch(/not served/);
    sc.registerResource({
      group: "later.example.com",
      version: "v1",
      resource: "gadgets",
      kind: "Gadget",
      namespaced: true,
    });
    await waitState("broken", "watching", 20_000);
    sc.create("later.example.com/v1/gadgets", { metadata: { namespace: "ns", name: "g" } });
    await waitFor(() => summary(receiver).includes("ADDED ns/g"), { message: "gadget event" });
    // The PUT restarted the watches; the ingress that did not change was not sent again.
    expect(summary(receiver).filter((s) => s === "ADDED ns/x")).toHaveLength(1);
  });

  it("verifies TLS with the given CA, and stops watching a deleted cluster within a second", async () => {
    const tls = selfSignedCert();
    const secure = await KubeSim.start({ tokens: ["t"], tls });
    try {
      const sc = secure.cluster();
      const receiver = await startReceiver();
      receivers.push(receiver);
      await stack.api("/api/v1/servers", {
        body: { name: "tls-rx", url: receiver.url, filters: { clusters: ["tls", "tls-bad"] } },
      });
      await stack.api("/api/v1/clusters", { body: { name: "tls-bad", server: sc.url, token: "t" } });
      const bad = await waitState("tls-bad", "error");
      expect(bad[0]?.message).toMatch(/certificate/i);
      await stack.api("/api/v1/clusters", {
        body: { name: "tls", server: sc.url, token: "t", caData: caDataOf(tls) },
      });
      await waitState("tls", "watching");
      sc.create(ING, { metadata: { namespace: "ns", name: "secure" } });
      await receiver.waitForCount(1);
      expect(summary(receiver)).toEqual(["ADDED ns/secure"]);

      const started = Date.now();
      expect((await stack.api("/api/v1/clusters/tls", { method: "DELETE" })).status).toBe(204);
      await stack.services.watcher.waitForLog("stopping cluster watch", 1000, { cluster: "tls", reason: "deleted" });
      expect(Date.now() - started).toBeLessThan(1000);
      sc.create(ING, { metadata: { namespace: "ns", name: "after-delete" } });
      await stack.api("/api/v1/clusters/tls-bad", { method: "DELETE" });
      // A new cluster on the same receiver proves delivery still works while "tls" stays silent.
      const other = await setup("tls-check");
      other.sc.create(ING, { metadata: { namespace: "ns", name: "probe" } });
      await other.receiver.waitForCount(1);
      expect(summary(receiver)).toEqual(["ADDED ns/secure"]);
    } finally {
      await secure.stop();
    }
  });

  it("moves a killed replica's clusters to the other within LEASE_TTL_MS + 5 s", async () => {
    const second = startService("watcher", { ...stack.env, WATCHER_ID: "second" });
    await second.waitForLog("ready");
    try {
      const { receiver, sc } = await setup("failover");
      await waitState("failover", "watching");
      sc.create(ING, { metadata: { namespace: "ns", name: "one" } });
      await receiver.waitForCount(1);
      const owner = (await status("failover"))[0]?.watcherId;
      const victim = owner === "second" ? second : stack.services.watcher;
      const survivor = owner === "second" ? stack.services.watcher : second;
      await victim.kill("SIGKILL");
      const killedAt = Date.now();
      sc.create(ING, { metadata: { namespace: "ns", name: "two" } });
      await receiver.waitForCount(2, LEASE_TTL_MS + 5000);
      const movedIn = Date.now() - killedAt;
      expect(movedIn).toBeLessThan(LEASE_TTL_MS + 5000);
      expect(summary(receiver)).toEqual(["ADDED ns/one", "ADDED ns/two"]);
      expect((await status("failover"))[0]?.watcherId).not.toBe(owner);
      if (victim === stack.services.watcher) (stack.services as Record<string, ServiceProcess>).watcher = survivor;
    } finally {
      if (second !== stack.services.watcher) await second.kill("SIGKILL");
    }
  });
});
