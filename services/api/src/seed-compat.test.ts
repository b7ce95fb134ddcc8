import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./test-harness.js";

const SEED = "/cic/nitro/v1/config/controller";
const body = {
  ClusterName: "cluster-a",
  KubeURL: "https://10.0.0.5:6443/",
  KubeServAcctToken: "seed-sa-token",
  Namespaces: "default, shop",
  ServerURL: ["http://22.22.22.22/events", "http://127.0.0.1:9000/"],
  WatchEvents: ["ADD", "UPDATE", "MODIFIED"],
};

describe("seed compatibility: /cic/nitro/v1/config/controller", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    await h.redis.flushall();
  });

  it("maps the prototype's body onto one cluster plus one server per ServerURL", async () => {
    const created = await h.call("POST", SEED, body);
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe(`${SEED}?ClusterName=cluster-a`);
    expect(created.body).toEqual({
      ClusterName: "cluster-a",
      KubeURL: "https://10.0.0.5:6443",
      Namespaces: ["default", "shop"],
      ServerURL: body.ServerURL,
      WatchEvents: ["ADDED", "MODIFIED"],
      Servers: [
        { name: "cluster-a-0", url: body.ServerURL[0], secret: expect.stringMatching(/^whsec_/) },
        { name: "cluster-a-1", url: body.ServerURL[1], secret: expect.stringMatching(/^whsec_/) },
      ],
    });
    expect(JSON.stringify(created.body)).not.toContain("seed-sa-token");

    const cluster = await h.call("GET", "/api/v1/clusters/cluster-a");
    expect(cluster.body).toMatchObject({
      name: "cluster-a",
      source: "server",
      resources: ["networking.k8s.io/v1/ingresses"],
      namespaces: ["default", "shop"],
      credentials: "stored",
    });
    const server = await h.call("GET", "/api/v1/servers/cluster-a-1");
    expect(server.body).toMatchObject({
      url: "http://127.0.0.1:9000/",
      filters: { clusters: ["cluster-a"], eventTypes: ["ADDED", "MODIFIED"] },
      snapshot: true,
      enabled: true,
    });

    const listed = await h.call("GET", SEED);
    expect(listed.status).toBe(200);
    const { Servers, ...mapping } = created.body;
    expect(listed.body).toEqual([
      { ...mapping, Servers: Servers.map(({ name, url }: { name: string; url: string }) => ({ name, url })) },
    ]);
    expect((await h.call("GET", `${SEED}?ClusterName=cluster-a`)).body).toEqual(listed.body);
  });

  it("lists only clusters that have seed servers, and 404s an unknown ClusterName", async () => {
    await h.call("POST", "/api/v1/clusters", { name: "plain", server: "https://k:6443" });
    await h.call("POST", SEED, { ...body, ClusterName: "b", WatchEvents: undefined });
    const listed = await h.call("GET", SEED);
    expect(listed.body.map((m: { ClusterName: string }) => m.ClusterName)).toEqual(["b"]);
    expect(listed.body[0].WatchEvents).toEqual([]);
    expect((await h.call("GET", `${SEED}?ClusterName=plain`)).body[0].Servers).toEqual([]);
    expect((await h.call("GET", `${SEED}?ClusterName=nope`)).status).toBe(404);
  });

  it("stores nothing when a later piece fails", async () => {
    // cluster-a-1 is taken by someone else: nothing of the mapping may remain.
    await h.call("POST", "/api/v1/servers", { name: "cluster-a-1", url: "http://other/", snapshot: false });
    const before = await h.snapshot();
    const res = await h.call("POST", SEED, body);
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain("cluster-a-1");
    expect(await h.snapshot()).toEqual(before);
  });

  it("rolls back what it created when a write fails midway", async () => {
    // Checks pass, then Redis fails on the second server: the cluster and first server must go.
    const createServer = h.registry.createServer;
    let calls = 0;
    h.registry.createServer = async (s) => {
      if (++calls === 2) throw new Error("redis went away");
      return createServer.call(h.registry, s);
    };
    try {
      const res = await h.call("POST", SEED, body);
      expect(res.status).toBe(500);
      expect(res.body.detail).not.toContain("redis went away");
    } finally {
      h.registry.createServer = createServer;
    }
    // Only the counts of writes are left (they never go back).
    expect((await h.redis.keys("*")).sort()).toEqual(["t:clusters:revision", "t:servers:revision"]);
    expect(h.logLines.some((l) => l.includes("redis went away"))).toBe(true);
  });

  it("replaces a mapping: keeps existing servers' secrets, adds and removes servers", async () => {
    const created = await h.call("POST", SEED, body);
    const sealed0 = JSON.parse((await h.redis.get("t:{server:cluster-a-0}:spec")) as string).secret;
    await h.redis.hset("t:{server:cluster-a-0}:status", "disabledReason", "answered 410");
    const replaced = await h.call("PUT", SEED, {
      ...body,
      Namespaces: ["blog"],
      ServerURL: ["http://new.example/hook"],
      WatchEvents: ["DELETE"],
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({
      Namespaces: ["blog"],
      ServerURL: ["http://new.example/hook"],
      WatchEvents: ["DELETED"],
      Servers: [{ name: "cluster-a-0", url: "http://new.example/hook" }],
    });
    expect(replaced.body.Servers[0].secret).toBeUndefined();
    expect(JSON.parse((await h.redis.get("t:{server:cluster-a-0}:spec")) as string).secret).toBe(sealed0);
    expect(await h.redis.hget("t:{server:cluster-a-0}:status", "disabledReason")).toBeNull();
    expect((await h.call("GET", "/api/v1/servers/cluster-a-1")).status).toBe(404);
    expect((await h.call("GET", "/api/v1/clusters/cluster-a")).body).toMatchObject({
      namespaces: ["blog"],
      createdAt: (await h.call("GET", "/api/v1/clusters/cluster-a")).body.createdAt,
    });

    const grown = await h.call("PUT", SEED, { ...body, ServerURL: ["http://a/", "http://b/", "http://c/"] });
    expect(grown.body.Servers.map((s: { name: string; secret?: string }) => [s.name, Boolean(s.secret)])).toEqual([
      ["cluster-a-0", false],
      ["cluster-a-1", true],
      ["cluster-a-2", true],
    ]);
    expect(created.status).toBe(201);
  });

  it("deletes a cluster and its servers, named in the query or the body", async () => {
    await h.call("POST", SEED, body);
    await h.call("POST", "/api/v1/servers", { name: "unrelated", url: "http://x/", snapshot: false });
    expect((await h.call("DELETE", `${SEED}?ClusterName=cluster-a`)).status).toBe(204);
    expect(await h.redis.smembers("t:servers")).toEqual(["unrelated"]);
    expect(await h.redis.smembers("t:clusters")).toEqual([]);

    await h.call("POST", SEED, body);
    expect((await h.call("DELETE", SEED, { ClusterName: "cluster-a" })).status).toBe(204);
    expect(await h.redis.smembers("t:clusters")).toEqual([]);
  });
});
