import { SnapshotReplySchema, snapshotRequestSubject } from "@mcic/core";
import { startReceiver, waitFor } from "@mcic/core/testing";
import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { useSimStack } from "../support/sim-stack.js";

const ING = "networking.k8s.io/v1/ingresses";

describe("snapshots", () => {
  const env = useSimStack();

  it("delivers the current matching objects to the requesting server alone, as ADDED with snapshot: true", async () => {
    const sc = env.sim.cluster("snap");
    sc.create(ING, { metadata: { namespace: "shop", name: "web", labels: { app: "web" } } });
    sc.create(ING, { metadata: { namespace: "shop", name: "api", labels: { app: "api" } } });
    sc.create(ING, { metadata: { namespace: "blog", name: "www" } });
    const bystander = await startReceiver();
    const wanting = await startReceiver();
    try {
      await env.stack.api("/api/v1/servers", { body: { name: "bystander", url: bystander.url, snapshot: false } });
      expect((await env.stack.api("/api/v1/clusters", { body: { name: "snap", server: sc.url } })).status).toBe(201);
      await bystander.waitForCount(3);
      const res = await env.stack.api("/api/v1/servers", {
        body: { name: "wanting", url: wanting.url, snapshot: false, filters: { namespaces: ["shop"] } },
      });
      expect(res.status).toBe(201);

      const nc = await connect({ servers: env.nats.url });
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
      await waitFor(async () => (await env.stack.api("/api/v1/servers/wanting")).body.status.pending === 0, {
        message: "pending back to 0",
      });
      expect(bystander.requests).toHaveLength(3);
    } finally {
      await Promise.all([bystander.close(), wanting.close()]);
    }
  });
});
