import { type Receiver, type TestServer, startNats, startReceiver, startRedis, waitFor } from "@mcic/core/testing";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { type Stack, startStack } from "../support/stack.js";

const INGRESSES = "networking.k8s.io/v1/ingresses";
const ingress = (namespace: string, name: string) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { namespace, name },
  spec: { rules: [{ host: `${name}.example.com` }] },
});

/** Verifies a received request with the standardwebhooks library and returns its CloudEvent. */
function verify(secret: string, req: Receiver["requests"][number] | undefined): any {
  return new Webhook(secret).verify(req?.body ?? "", {
    "webhook-id": String(req?.headers["webhook-id"]),
    "webhook-timestamp": String(req?.headers["webhook-timestamp"]),
    "webhook-signature": String(req?.headers["webhook-signature"]),
  });
}

describe("the API process with watcher and dispatcher: replay, test, resync, seed compatibility", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let stack: Stack;
  let receiver: Receiver;
  let secret: string;

  beforeAll(async () => {
    [nats, redis, sim, receiver] = await Promise.all([
      startNats(),
      startRedis(),
      // No tokens: these tests are not about cluster auth, and the API takes a token only over https.
      KubeSim.start(),
      startReceiver(),
    ]);
    stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url, tokens: ["api-token"] });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await Promise.all([sim?.stop(), receiver?.close()]);
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  async function waitWatching(cluster: string): Promise<void> {
    await waitFor(
      async () =>
        (await stack.api(`/api/v1/clusters/${cluster}`)).body.status?.resources?.every(
          (r: { state: string }) => r.state === "watching",
        ),
      { timeoutMs: 10_000, message: `cluster ${cluster} to be watching` },
    );
  }

  it("serves its OpenAPI document and Swagger UI without a token, metrics only with one", async () => {
    const open = async (path: string) => (await fetch(`${stack.apiUrl}${path}`)).status;
    expect(await open("/openapi.json")).toBe(200);
    expect(await open("/swagger")).toBe(200);
    expect(await open("/swagger-ui/swagger-ui-bundle.js")).toBe(200);
    expect(await open("/metrics")).toBe(401);
    const metrics = await stack.api("/metrics");
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toContain('mcic_api_requests_total{route="/openapi.json",method="GET",status="200"');
  });

  it("replays a dead-lettered event through the dispatcher to the server", async () => {
    receiver.respond = () => ({ status: 400 });
    const created = await stack.api("/api/v1/servers", {
      body: { name: "rx", url: receiver.url, filters: { clusters: ["east"] }, snapshot: false },
    });
    expect(created.status).toBe(201);
    secret = created.body.secret;
    const sc = sim.cluster("east");
    expect((await stack.api("/api/v1/clusters", { body: { name: "east", server: sc.url } })).status).toBe(201);
    await waitWatching("east");
    sc.create(INGRESSES, ingress("shop", "web"));

    const dead = await waitFor(
      async () => {
        const res = await stack.api("/api/v1/servers/rx/dead-letters");
        return res.body.length === 1 && res.body;
      },
      { timeoutMs: 10_000, message: "a dead letter" },
    );
    expect(dead[0]).toMatchObject({ status: 400, envelope: { name: "web", type: "ADDED" } });
    const failed = await stack.api("/api/v1/servers/rx/deliveries?outcome=dead-lettered");
    expect(failed.body.map((r: { eventId: string }) => r.eventId)).toEqual([dead[0].eventId]);

    receiver.respond = () => ({ status: 204 });
    const replay = await stack.api("/api/v1/servers/rx/dead-letters/replay", { body: { ids: [dead[0].id] } });
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual({ replayed: 1 });
    await waitFor(() => receiver.delivered().length === 1, { timeoutMs: 10_000, message: "the replayed event" });
    const event = verify(secret, receiver.requests.at(-1));
    expect(event).toMatchObject({ id: dead[0].eventId, type: "dev.mcic.ingresses.added", subject: "shop/web" });
    expect((await stack.api("/api/v1/servers/rx/dead-letters")).body).toEqual([]);
    await waitFor(async () => (await stack.api("/api/v1/servers/rx/deliveries?outcome=delivered")).body.length === 1, {
      timeoutMs: 5000,
      message: "the delivery record",
    });
    expect((await stack.api("/api/v1/servers/rx")).body.status).toMatchObject({ state: "active", deadLetters: 0 });
  });

  it("tests a server with a signed ping, and resyncs it from the watcher", async () => {
    receiver.reset();
    const test = await stack.api("/api/v1/servers/rx/test", { method: "POST" });
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ ok: true, status: 204 });
    expect(verify(secret, receiver.requests[0])).toMatchObject({ type: "dev.mcic.ping", subject: "rx" });

    receiver.reset();
    const resync = await stack.api("/api/v1/servers/rx/resync", { method: "POST" });
    expect([200, 202]).toContain(resync.status);
    expect(resync.body.clusters).toEqual([
      {
        cluster: "east",
        state: expect.stringMatching(/^(taken|pending)$/),
        ...(resync.status === 200 ? { objects: 1 } : {}),
        at: expect.any(String),
      },
    ]);
    // The object, then (in the same queue, so possibly first) the completed event of ingresses.
    await receiver.waitForCount(2);
    const events = receiver.requests.map((r) => verify(secret, r));
    expect(events.find((e) => e.type !== "dev.mcic.snapshot.completed")).toMatchObject({
      subject: "shop/web",
      data: { type: "ADDED", snapshot: true, requestId: resync.body.requestId },
    });
    expect(events.find((e) => e.type === "dev.mcic.snapshot.completed")?.data).toMatchObject({
      cluster: "east",
      resource: "ingresses",
      requestId: resync.body.requestId,
      count: 1,
    });
  });

  it("registers a prototype-style mapping whose servers get the chosen events", async () => {
    const seedReceiver = await startReceiver();
    try {
      const sc = sim.cluster("north");
      const res = await stack.api("/cic/nitro/v1/config/controller", {
        body: {
          ClusterName: "north",
          KubeURL: sc.url,
          Namespaces: "blog",
          ServerURL: [seedReceiver.url],
          WatchEvents: ["ADD", "DELETE"],
        },
      });
      expect(res.status).toBe(201);
      await waitWatching("north");
      sc.create(INGRESSES, ingress("blog", "www"));
      sc.create(INGRESSES, ingress("shop", "ignored"));
      const current = sc.get(INGRESSES, "blog", "www");
      sc.update(INGRESSES, { ...current, spec: { rules: [{ host: "www2.example.com" }] } });
      sc.delete(INGRESSES, "blog", "www");
      await seedReceiver.waitForCount(2);
      const events = seedReceiver.requests.map((r) => verify(res.body.Servers[0].secret, r));
      expect(events.map((e) => `${e.data.type} ${e.subject}`)).toEqual(["ADDED blog/www", "DELETED blog/www"]);
    } finally {
      await seedReceiver.close();
    }
  });

  it("stops on SIGTERM with exit code 0", async () => {
    expect(await stack.services.api.kill("SIGTERM")).toBe(0);
  });
});
