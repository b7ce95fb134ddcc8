import { SnapshotReplySchema, snapshotRequestSubject } from "@mcic/core";
import { type TestServer, startNats, startReceiver, startRedis, waitFor } from "@mcic/core/testing";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { type Stack, startStack } from "../support/stack.js";

const ING = "networking.k8s.io/v1/ingresses";

describe("snapshots", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let stack: Stack;

  beforeAll(async () => {
    [nats, redis, sim] = await Promise.all([startNats(), startRedis(), KubeSim.start()]);
    stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await sim?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it("delivers the current matching objects to the requesting server alone, as ADDED with snapshot: true", async () => {
    const sc = sim.cluster("snap");
    sc.create(ING, { metadata: { namespace: "shop", name: "web", labels: { app: "web" } } });
    sc.create(ING, { metadata: { namespace: "shop", name: "api", labels: { app: "api" } } });
    sc.create(ING, { metadata: { namespace: "blog", name: "www" } });
    const bystander = await startReceiver();
    const wanting = await startReceiver();
    try {
      await stack.api("/api/v1/servers", { body: { name: "bystander", url: bystander.url, snapshot: false } });
      expect((await stack.api("/api/v1/clusters", { body: { name: "snap", server: sc.url } })).status).toBe(201);
      await bystander.waitForCount(3);
      const res = await stack.api("/api/v1/servers", {
        body: { name: "wanting", url: wanting.url, snapshot: false, filters: { namespaces: ["shop"] } },
      });
      expect(res.status).toBe(201);

      const nc = await connect({ servers: nats.url });
      const replies = [];
      for await (const m of await nc.requestMany(
        snapshotRequestSubject("mcic"),
        JSON.stringify({ requestId: "r1", server: "wanting" }),
        { maxWait: 1000 },
      )) {
        replies.push(SnapshotReplySchema.parse(m.json()));
      }
      await nc.close();
      expect(replies).toEqual([{ watcherId: expect.any(String), clusters: ["snap"] }]);

      // Two objects and the completed event of ingresses (which may come first: same queue, any lane).
      await wanting.waitForCount(3);
      const all = wanting.requests.map((r) => JSON.parse(r.body));
      expect(all.filter((e) => e.type === "dev.mcic.snapshot.completed").map((e) => e.data)).toEqual([
        expect.objectContaining({ cluster: "snap", resource: "ingresses", requestId: "r1", count: 2 }),
      ]);
      const got = all.filter((e) => e.type !== "dev.mcic.snapshot.completed");
      expect(got.map((e) => e.data.requestId)).toEqual(["r1", "r1"]);
      expect(got.map((e) => `${e.data.type} ${e.subject} ${e.data.snapshot}`).sort()).toEqual([
        "ADDED shop/api true",
        "ADDED shop/web true",
      ]);
      expect(got[0].data.object.metadata.labels).toBeDefined();
      await waitFor(async () => (await stack.api("/api/v1/servers/wanting")).body.status.pending === 0, {
        message: "pending back to 0",
      });
      expect(bystander.requests).toHaveLength(3);
    } finally {
      await Promise.all([bystander.close(), wanting.close()]);
    }
  });
});
