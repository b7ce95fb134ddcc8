import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ChangeNotice, parseChangeNotice } from "./change-notice.js";
import { ConflictError, CorruptDataError, NotFoundError, UpdateConflictError } from "./errors.js";
import type { StoredCluster, StoredServer } from "./models.js";
import { redisReady } from "./redis.js";
import { Registry } from "./registry.js";
import { startRedis, type TestServer } from "./testing/servers.js";
import { waitFor } from "./testing/wait-for.js";

let server: TestServer;
let redis: Redis;
let subscriber: Redis;
let registry: Registry;
let prefix: string;
/** Every message received on any subscribed channel, in order. */
const heard: { channel: string; message: string }[] = [];

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  subscriber = new Redis(server.url);
  await Promise.all([redisReady(redis), redisReady(subscriber)]);
  subscriber.on("message", (channel: string, message: string) => heard.push({ channel, message }));
});

afterAll(async () => {
  subscriber?.disconnect();
  redis?.disconnect();
  await server?.stop();
});

beforeEach(async () => {
  // A fresh prefix per test: no test sees another's keys or notices.
  prefix = `t${randomUUID().slice(0, 8)}`;
  registry = new Registry({ redis, prefix });
  heard.length = 0;
  await subscriber.subscribe(registry.keys.changes);
});

afterEach(async () => {
  await subscriber.unsubscribe(registry.keys.changes);
});

/**
 * The change notices published since the last call. A marker published on the same connection
 * after the writes arrives after every notice they published, so "none" is known without waiting.
 */
async function noticesSoFar(): Promise<ChangeNotice[]> {
  const marker = `marker-${randomUUID()}`;
  await redis.publish(registry.keys.changes, marker);
  await waitFor(() => heard.some((h) => h.message === marker), { message: "the marker notice" });
  const mine = heard.filter((h) => h.channel === registry.keys.changes);
  heard.length = 0;
  return mine
    .filter((h) => !h.message.startsWith("marker-"))
    .map((h) => {
      const notice = parseChangeNotice(h.message);
      if (!notice) throw new Error(`not a change notice: ${h.message}`);
      return notice;
    });
}

function cluster(name: string, overrides: Partial<StoredCluster> = {}): StoredCluster {
  return {
    name,
    resources: ["networking.k8s.io/v1/ingresses"],
    source: "server",
    credentials: "v1:sealed",
    createdAt: "2024-05-01T12:00:00.000Z",
    updatedAt: "2024-05-01T12:00:00.000Z",
    ...overrides,
  };
}

function srv(name: string, overrides: Partial<StoredServer> = {}): StoredServer {
  return {
    name,
    url: "https://lb.example.com/hook",
    filters: {},
    headers: "v1:sealed-headers",
    secret: "v1:sealed-secret",
    includeSecretData: false,
    snapshot: true,
    enabled: true,
    payload: "full",
    includeManagedFields: false,
    disableAfterSeconds: 432_000,
    retry: {},
    createdAt: "2024-05-01T12:00:00.000Z",
    updatedAt: "2024-05-01T12:00:00.000Z",
    ...overrides,
  };
}

describe("Registry: clusters", () => {
  it("returns a created cluster by name and in the list", async () => {
    const c = cluster("east", {
      namespaces: ["shop"],
      labelSelector: "app=web",
      context: "prod",
      source: "kubeconfig",
    });
    await registry.createCluster(c);
    expect(await registry.getCluster("east")).toEqual(c);
    expect(await registry.listClusters()).toEqual([c]);
    expect(await noticesSoFar()).toEqual([{ kind: "cluster", name: "east", op: "created" }]);
  });

  it("answers undefined and an empty list when there is nothing", async () => {
    expect(await registry.getCluster("nope")).toBeUndefined();
    expect(await registry.listClusters()).toEqual([]);
  });

  it("lists clusters sorted by name", async () => {
    for (const name of ["west", "east", "north"]) await registry.createCluster(cluster(name));
    expect((await registry.listClusters()).map((c) => c.name)).toEqual(["east", "north", "west"]);
    expect(await noticesSoFar()).toHaveLength(3);
  });

  it("refuses to create a cluster twice, keeps the first and announces nothing", async () => {
    await registry.createCluster(cluster("east"));
    await noticesSoFar();
    await expect(registry.createCluster(cluster("east", { resources: ["v1/pods"] }))).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect((await registry.getCluster("east"))?.resources).toEqual(["networking.k8s.io/v1/ingresses"]);
    expect(await noticesSoFar()).toEqual([]);
  });

  it("replaces an existing cluster and announces the update", async () => {
    await registry.createCluster(cluster("east"));
    await noticesSoFar();
    const changed = cluster("east", { resources: ["v1/services"], updatedAt: "2024-06-01T00:00:00.000Z" });
    await registry.replaceCluster(changed);
    expect(await registry.getCluster("east")).toEqual(changed);
    expect(await noticesSoFar()).toEqual([{ kind: "cluster", name: "east", op: "updated" }]);
  });

  it("refuses to replace an unknown cluster, creates nothing and announces nothing", async () => {
    const err = await registry.replaceCluster(cluster("ghost")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).status).toBe(404);
    expect(await registry.getCluster("ghost")).toBeUndefined();
    expect(await registry.listClusters()).toEqual([]);
    expect(await noticesSoFar()).toEqual([]);
  });

  it("deletes the record, the index entry and the status", async () => {
    await registry.createCluster(cluster("east"));
    await registry.createCluster(cluster("west"));
    await registry.setResourceStatus("east", { resource: "networking.k8s.io/v1/ingresses", state: "watching" });
    await noticesSoFar();

    await registry.deleteCluster("east");

    expect(await registry.getCluster("east")).toBeUndefined();
    expect((await registry.listClusters()).map((c) => c.name)).toEqual(["west"]);
    expect(await redis.exists(registry.keys.cluster("east"))).toBe(0);
    expect(await redis.sismember(registry.keys.clusters, "east")).toBe(0);
    expect(await redis.exists(registry.keys.clusterStatus("east"))).toBe(0);
    expect(await registry.clusterStatus("east")).toEqual([]);
    expect(await noticesSoFar()).toEqual([{ kind: "cluster", name: "east", op: "deleted" }]);
  });

  it("refuses to delete an unknown cluster and announces nothing", async () => {
    await expect(registry.deleteCluster("ghost")).rejects.toBeInstanceOf(NotFoundError);
    expect(await noticesSoFar()).toEqual([]);
  });

  it("lets a deleted name be registered again", async () => {
    await registry.createCluster(cluster("east"));
    await registry.deleteCluster("east");
    await registry.createCluster(cluster("east", { resources: ["v1/pods"] }));
    expect((await registry.getCluster("east"))?.resources).toEqual(["v1/pods"]);
    expect((await noticesSoFar()).map((n) => n.op)).toEqual(["created", "deleted", "created"]);
  });

  it.each([
    ["not JSON", "not json"],
    ["the wrong shape", JSON.stringify({ name: "east" })],
    ["a bad source", JSON.stringify({ ...cluster("east"), source: "magic" })],
  ])("reports a record holding %s as corrupt", async (_label, text) => {
    await registry.createCluster(cluster("east"));
    await redis.set(registry.keys.cluster("east"), text);
    const err = await registry.getCluster("east").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptDataError);
    expect((err as CorruptDataError).message).toContain(registry.keys.cluster("east"));
    await expect(registry.listClusters()).rejects.toBeInstanceOf(CorruptDataError);
  });
});

describe("Registry: servers", () => {
  it("updates a server from its stored value, announces it, and leaves it alone when told to", async () => {
    await registry.createServer(srv("lb-1"));
    await noticesSoFar();
    const written = await registry.updateServer("lb-1", (s) => ({ ...s, secret: "v2:new", previousSecret: s.secret }));
    expect(written).toMatchObject({ secret: "v2:new", previousSecret: "v1:sealed-secret" });
    expect(await registry.getServer("lb-1")).toEqual(written);
    expect(await noticesSoFar()).toEqual([{ kind: "server", name: "lb-1", op: "updated" }]);
    expect(await registry.updateServer("lb-1", () => undefined)).toBeUndefined();
    expect(await registry.getServer("lb-1")).toEqual(written);
    expect(await noticesSoFar()).toEqual([]);
    await expect(registry.updateServer("ghost", (s) => s)).rejects.toBeInstanceOf(NotFoundError);
    expect(await registry.getServer("ghost")).toBeUndefined();
  });

  it("loses no write made while an update was being computed: it reads again and reapplies", async () => {
    await registry.createServer(srv("lb-1"));
    let calls = 0;
    const written = await registry.updateServer("lb-1", (s) => {
      calls++;
      // Another writer slips in between the read and the write, once.
      if (calls === 1) void registry.replaceServer({ ...s, url: "https://other.example.com/hook" });
      return { ...s, secret: `v2:rotated-${calls}` };
    });
    expect(calls).toBe(2);
    expect(await registry.getServer("lb-1")).toMatchObject({
      url: "https://other.example.com/hook",
      secret: "v2:rotated-2",
    });
    expect(written?.url).toBe("https://other.example.com/hook");
  });

  it("gives up with a conflict when the record never stops changing", async () => {
    await registry.createServer(srv("lb-1"));
    let n = 0;
    const err = await registry
      .updateServer("lb-1", (s) => {
        void registry.replaceServer({ ...s, updatedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, ++n)).toISOString() });
        return { ...s, secret: "v2:never" };
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpdateConflictError);
    expect((err as UpdateConflictError).status).toBe(409);
    expect((await registry.getServer("lb-1"))?.secret).toBe("v1:sealed-secret");
  });

  it("creates, reads, lists, replaces and deletes a server, announcing each write once", async () => {
    const s = srv("lb-1", { filters: { clusters: ["east"], eventTypes: ["ADDED"] }, retry: { maxAttempts: 3 } });
    await registry.createServer(s);
    await registry.createServer(srv("lb-0"));
    expect(await registry.getServer("lb-1")).toEqual(s);
    expect((await registry.listServers()).map((x) => x.name)).toEqual(["lb-0", "lb-1"]);

    const disabled = { ...s, enabled: false };
    await registry.replaceServer(disabled);
    expect(await registry.getServer("lb-1")).toEqual(disabled);

    await redis.hset(registry.keys.serverStatus("lb-1"), "lastSuccessAt", "2024-05-01T12:00:00.000Z");
    await registry.deleteServer("lb-1");
    expect(await registry.getServer("lb-1")).toBeUndefined();
    expect(await redis.exists(registry.keys.serverStatus("lb-1"))).toBe(0);
    expect((await registry.listServers()).map((x) => x.name)).toEqual(["lb-0"]);

    expect(await noticesSoFar()).toEqual([
      { kind: "server", name: "lb-1", op: "created" },
      { kind: "server", name: "lb-0", op: "created" },
      { kind: "server", name: "lb-1", op: "updated" },
      { kind: "server", name: "lb-1", op: "deleted" },
    ]);
  });

  it("refuses conflicting and unknown writes without announcing them", async () => {
    await registry.createServer(srv("lb-1"));
    await noticesSoFar();
    await expect(registry.createServer(srv("lb-1"))).rejects.toBeInstanceOf(ConflictError);
    await expect(registry.replaceServer(srv("ghost"))).rejects.toBeInstanceOf(NotFoundError);
    await expect(registry.deleteServer("ghost")).rejects.toBeInstanceOf(NotFoundError);
    expect(await registry.getServer("ghost")).toBeUndefined();
    expect(await noticesSoFar()).toEqual([]);
  });

  it("raises the servers revision with every server write that happened, and only then", async () => {
    expect(await registry.serversRevision()).toBe(0);
    await registry.createServer(srv("lb-1"));
    await registry.replaceServer(srv("lb-1", { url: "https://b.example.com/hook" }));
    await registry.replaceServerAndEnable(srv("lb-1"));
    await registry.updateServer("lb-1", (s) => ({ ...s, secret: "v2:rotated" }));
    await registry.updateServer("lb-1", () => undefined);
    await registry.deleteServer("lb-1");
    expect(await registry.serversRevision()).toBe(5);
    // Refused writes and cluster writes leave it alone: dispatchers only wait for what changed servers.
    await expect(registry.deleteServer("lb-1")).rejects.toBeInstanceOf(NotFoundError);
    await registry.createServer(srv("lb-2"));
    await expect(registry.createServer(srv("lb-2"))).rejects.toBeInstanceOf(ConflictError);
    await registry.createCluster(cluster("east"));
    expect(await registry.serversRevision()).toBe(6);
  });

  it("keeps clusters and servers of the same name apart", async () => {
    await registry.createCluster(cluster("same"));
    await registry.createServer(srv("same"));
    await registry.deleteServer("same");
    expect(await registry.getCluster("same")).toBeDefined();
    expect(await registry.listServers()).toEqual([]);
  });

  it("reports a corrupt server record", async () => {
    await registry.createServer(srv("lb-1"));
    await redis.set(registry.keys.server("lb-1"), "{oops");
    await expect(registry.getServer("lb-1")).rejects.toBeInstanceOf(CorruptDataError);
    await redis.set(registry.keys.server("lb-1"), JSON.stringify({ ...srv("lb-1"), enabled: "yes" }));
    await expect(registry.getServer("lb-1")).rejects.toBeInstanceOf(CorruptDataError);
  });
});

describe("Registry: cluster status", () => {
  it("round-trips each resource's status, sorted by resource", async () => {
    const ingresses = {
      resource: "networking.k8s.io/v1/ingresses",
      state: "watching" as const,
      resourceVersion: "1200",
      lastEventAt: "2024-05-01T12:00:00.000Z",
      watcherId: "w-1",
    };
    const pods = { resource: "v1/pods", state: "error" as const, message: "403 Forbidden" };
    await registry.setResourceStatus("east", pods);
    await registry.setResourceStatus("east", ingresses);
    expect(await registry.clusterStatus("east")).toEqual([ingresses, pods]);
  });

  it("keeps only the latest status of a resource", async () => {
    await registry.setResourceStatus("east", { resource: "v1/pods", state: "syncing" });
    await registry.setResourceStatus("east", { resource: "v1/pods", state: "watching", resourceVersion: "9" });
    expect(await registry.clusterStatus("east")).toEqual([
      { resource: "v1/pods", state: "watching", resourceVersion: "9" },
    ]);
  });

  it("does not announce status writes", async () => {
    await registry.setResourceStatus("east", { resource: "v1/pods", state: "pending" });
    expect(await noticesSoFar()).toEqual([]);
  });

  it("reports a corrupt status entry", async () => {
    await redis.hset(
      registry.keys.clusterStatus("east"),
      "v1/pods",
      JSON.stringify({ resource: "v1/pods", state: "?" }),
    );
    await expect(registry.clusterStatus("east")).rejects.toBeInstanceOf(CorruptDataError);
  });
});

describe("Registry: server status and delivery lists", () => {
  const statusKey = (name: string) => registry.keys.serverStatus(name);

  it("reads the status hash, and an empty status for a server nobody delivered to", async () => {
    expect(await registry.serverStatus("lb-1")).toEqual({});
    await redis.hset(statusKey("lb-1"), { deadLetters: "2", pending: "1", lastSuccessAt: "2024-05-01T12:00:00.000Z" });
    expect(await registry.serverStatus("lb-1")).toEqual({
      deadLetters: 2,
      pending: 1,
      lastSuccessAt: "2024-05-01T12:00:00.000Z",
    });
    await redis.hset(statusKey("lb-1"), "pending", "lots");
    await expect(registry.serverStatus("lb-1")).rejects.toBeInstanceOf(CorruptDataError);
  });

  it("names the servers a dispatcher disabled, with their reasons", async () => {
    await redis.hset(statusKey("gone"), "disabledReason", "answered 410 Gone");
    await redis.hset(statusKey("fine"), "deadLetters", "1");
    const reasons = await registry.disabledReasons(["gone", "fine", "never"]);
    expect([...reasons]).toEqual([["gone", "answered 410 Gone"]]);
  });

  it("replaces a server and enables it again in one announced step, keeping its counters", async () => {
    await registry.createServer(srv("lb-1"));
    await redis.hset(statusKey("lb-1"), { disabledReason: "answered 410 Gone", deadLetters: "3" });
    await noticesSoFar();
    const next = srv("lb-1", { url: "https://new.example.com/hook" });
    await registry.replaceServerAndEnable(next);
    expect(await registry.getServer("lb-1")).toEqual(next);
    expect(await registry.serverStatus("lb-1")).toEqual({ deadLetters: 3 });
    expect(await noticesSoFar()).toEqual([{ kind: "server", name: "lb-1", op: "updated" }]);

    await expect(registry.replaceServerAndEnable(srv("ghost"))).rejects.toBeInstanceOf(NotFoundError);
    expect(await noticesSoFar()).toEqual([]);
  });

  it("lists deliveries and dead letters newest first, skipping and counting unreadable entries", async () => {
    const record = (eventId: string) => ({
      eventId,
      attempt: 1,
      status: 200,
      outcome: "delivered",
      durationMs: 3,
      at: "2024-05-01T12:00:00.000Z",
    });
    const k = registry.keys.deliveries("lb-1");
    await redis.lpush(k, JSON.stringify(record("e1")), "{oops", JSON.stringify(record("e3")));
    const all = await registry.listDeliveries("lb-1");
    expect(all.entries.map((e) => e.value.eventId)).toEqual(["e3", "e1"]);
    expect(all.unreadable).toBe(1);
    const first = await registry.listDeliveries("lb-1", 1);
    expect(first.entries.map((e) => e.value.eventId)).toEqual(["e3"]);
    expect(first.unreadable).toBe(0);
    expect((await registry.listDeliveries("lb-1", 0)).entries).toEqual([]);

    expect(await registry.countDeadLetters("lb-1")).toBe(0);
    expect(await registry.listDeadLetters("lb-1")).toEqual({ entries: [], unreadable: 0 });
  });

  it("settles a replay: takes exactly the replayed texts off and lowers deadLetters", async () => {
    const letter = (id: string) =>
      JSON.stringify({
        id,
        eventId: `ev-${id}`,
        status: 500,
        attempts: 3,
        at: "2024-05-01T12:00:00.000Z",
        envelope: { id: `ev-${id}` },
      });
    await redis.lpush(registry.keys.deadLetters("lb-1"), letter("a"), letter("b"), letter("c"));
    await redis.hset(statusKey("lb-1"), "deadLetters", "3");
    expect(await registry.settleReplay("lb-1", [letter("a"), letter("c"), letter("zz")])).toBe(2);
    expect(await redis.lrange(registry.keys.deadLetters("lb-1"), 0, -1)).toEqual([letter("b")]);
    expect(await registry.serverStatus("lb-1")).toEqual({ deadLetters: 1 });
  });
});

describe("Registry: watcher state and announcements", () => {
  it("lists the registered cluster names, sorted", async () => {
    await registry.createCluster(cluster("west"));
    await registry.createCluster(cluster("east"));
    expect(await registry.clusterNames()).toEqual(["east", "west"]);
  });

  it("forgets a deleted cluster's resume points, published objects and status", async () => {
    const k = registry.keys;
    await redis.hset(k.clusterResume("east"), { "v1/pods": "{}", "v1/services": "{}" });
    await redis.hset(k.clusterObjects("east", "v1/pods"), "uid-1", "{}");
    await redis.hset(k.clusterObjects("east", "v1/services"), "uid-2", "{}");
    await registry.setResourceStatus("east", { resource: "v1/pods", state: "watching" });
    await redis.hset(k.clusterResume("west"), "v1/pods", "{}");
    await registry.forgetClusterState("east");
    expect(
      await redis.exists(
        k.clusterResume("east"),
        k.clusterObjects("east", "v1/pods"),
        k.clusterObjects("east", "v1/services"),
        k.clusterStatus("east"),
      ),
    ).toBe(0);
    expect(await redis.hkeys(k.clusterResume("west"))).toEqual(["v1/pods"]);
    await registry.forgetClusterState("never-watched");
  });

  it("forgets only the scopes a cluster no longer watches", async () => {
    const k = registry.keys;
    await redis.hset(k.clusterResume("east"), { "v1/pods": "{}", "v1/services": "{}" });
    await redis.hset(k.clusterObjects("east", "v1/pods"), "uid-1", "{}");
    await redis.hset(k.clusterObjects("east", "v1/services"), "uid-2", "{}");
    await registry.forgetClusterScopes("east", ["v1/pods"]);
    await registry.forgetClusterScopes("east", []);
    expect(await redis.hkeys(k.clusterResume("east"))).toEqual(["v1/services"]);
    expect(await redis.exists(k.clusterObjects("east", "v1/pods"))).toBe(0);
    expect(await redis.exists(k.clusterObjects("east", "v1/services"))).toBe(1);
  });

  it("announces a change that wrote no registration", async () => {
    await registry.announce({ kind: "cluster", name: "east", op: "updated" });
    expect(await noticesSoFar()).toEqual([{ kind: "cluster", name: "east", op: "updated" }]);
  });
});
