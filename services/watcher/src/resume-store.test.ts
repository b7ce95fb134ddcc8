import { redisKeys } from "@mcic/core";
import { type TestServer, startRedis } from "@mcic/core/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ClusterResumeStore, type KnownObject, LeaseLostError } from "./resume-store.js";

describe("ClusterResumeStore", () => {
  let server: TestServer;
  let redis: Redis;
  const keys = redisKeys("t");
  const store = (watcherId = "w1", fingerprint = "https://a", batchMs = 50) =>
    new ClusterResumeStore({ redis, keys, cluster: "c1", watcherId, fingerprint, batchMs });
  const ing: KnownObject = { rv: "5", namespace: "shop", name: "web", kind: "Ingress" };
  const node: KnownObject = { rv: "9", name: "n1", kind: "Node" };

  beforeAll(async () => {
    server = await startRedis();
    // Auto-pipelining as in the services: the save script must work inside a pending pipeline.
    redis = new Redis(server.url, { enableAutoPipelining: true });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });
  beforeEach(async () => {
    await redis.flushall();
    await redis.set(keys.clusterLease("c1"), "w1");
  });

  it("writes the saves of several scopes in one batch, and reads them back", async () => {
    const s = store();
    const calls: string[] = [];
    const monitor = await redis.monitor();
    monitor.on("monitor", (_t: string, args: string[]) => {
      if (/^eval/i.test(args[0] ?? "")) calls.push(args[0] as string);
    });
    await Promise.all([
      s.scope("networking.k8s.io/v1/ingresses").save(new Map([["u1", ing]]), new Set(), "100"),
      s.scope("v1/nodes").save(new Map([["u2", node]]), new Set(), "200"),
    ]);
    monitor.disconnect();
    expect(calls).toHaveLength(1);
    const again = store();
    expect(await again.scope("networking.k8s.io/v1/ingresses").load()).toEqual({
      rv: "100",
      known: new Map([["u1", ing]]),
    });
    expect(await again.scope("v1/nodes").load()).toEqual({ rv: "200", known: new Map([["u2", node]]) });
  });

  it("applies deletions and moves the resume point", async () => {
    const scope = store().scope("v1/nodes");
    await scope.save(
      new Map([
        ["u2", node],
        ["u3", { ...node, name: "n3" }],
      ]),
      new Set(),
      "1",
      true,
    );
    await scope.save(new Map(), new Set(["u2"]), "2", true);
    expect(await scope.load()).toEqual({ rv: "2", known: new Map([["u3", { ...node, name: "n3" }]]) });
  });

  it("writes nothing and fails every save of the batch once the lease names another replica", async () => {
    await redis.set(keys.clusterLease("c1"), "w2");
    const s = store();
    const results = await Promise.allSettled([
      s.scope("v1/nodes").save(new Map([["u2", node]]), new Set(), "1"),
      s.scope("v1/services").save(new Map(), new Set(), "1"),
    ]);
    for (const r of results) expect(r.status === "rejected" && r.reason).toBeInstanceOf(LeaseLostError);
    expect(await redis.exists(keys.clusterResume("c1"), keys.clusterObjects("c1", "v1/nodes"))).toBe(0);
  });

  it("writes at the next turn when asked now or once hurried, without waiting for the batch", async () => {
    const s = store("w1", "https://a", 60_000);
    const started = Date.now();
    await s.scope("v1/nodes").save(new Map([["u2", node]]), new Set(), "1", true);
    const later = s.scope("v1/services").save(new Map(), new Set(), "3");
    s.hurry();
    await later;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await store().scope("v1/services").load()).toEqual({ rv: "3", known: new Map() });
  });

  it("keeps section hashes, and reads records written before they existed without them", async () => {
    const scope = store().scope("v1/nodes");
    const hashed: KnownObject = { ...node, sections: "spec:abc,.labels:def" };
    await scope.save(new Map([["u2", hashed]]), new Set(), "1", true);
    await redis.hset(keys.clusterObjects("c1", "v1/nodes"), "u3", JSON.stringify(["7", "", "n3", "Node"]));
    expect(await scope.load()).toEqual({
      rv: "1",
      known: new Map([
        ["u2", hashed],
        ["u3", { rv: "7", name: "n3", kind: "Node" }],
      ]),
    });
  });

  it("discards state saved for another API URL", async () => {
    await store()
      .scope("v1/nodes")
      .save(new Map([["u2", node]]), new Set(), "1", true);
    expect(await store("w1", "https://b").scope("v1/nodes").load()).toEqual({ known: new Map() });
  });
});
