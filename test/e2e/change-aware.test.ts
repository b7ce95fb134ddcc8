import { redisKeys } from "@mcic/core";
import { type Receiver, type TestServer, startNats, startReceiver, startRedis, waitFor } from "@mcic/core/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { type ServiceProcess, type Stack, scrapeMetric, startService, startStack } from "../support/stack.js";

const ING = "networking.k8s.io/v1/ingresses";
const CLUSTER = "cw";

interface Delivered {
  data: {
    type: string;
    name: string;
    resourceVersion: string;
    changedPaths?: string[];
    object: Record<string, any>;
  };
}

const MANAGED = [
  { manager: "kubectl", operation: "Apply", apiVersion: "networking.k8s.io/v1", fieldsType: "FieldsV1" },
];

/**
 * Change-aware delivery end to end: the watcher tells what a MODIFIED changed (also after a
 * restart and a relist), servers filter on it, and each server gets the payload shape it asked for.
 */
describe("change-aware delivery and payload shapes", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let stack: Stack;
  let watcher: ServiceProcess;
  const rx: Record<"all" | "spec" | "status" | "meta" | "managed", Receiver> = {} as never;
  const sc = () => sim.cluster(CLUSTER);

  beforeAll(async () => {
    [nats, redis, sim] = await Promise.all([startNats(), startRedis(), KubeSim.start()]);
    stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url });
    watcher = stack.services.watcher;
    const servers = {
      all: {},
      spec: { filters: { changedPaths: ["spec"] } },
      status: { filters: { changedPaths: ["status"] } },
      meta: { payload: "metadata" },
      managed: { includeManagedFields: true },
    } as const;
    for (const [name, extra] of Object.entries(servers)) {
      const receiver = await startReceiver();
      rx[name as keyof typeof rx] = receiver;
      const body = { name, url: receiver.url, snapshot: false, ...extra };
      const res = await stack.api("/api/v1/servers", {
        body: { ...body, filters: { clusters: [CLUSTER], ...("filters" in extra ? extra.filters : {}) } },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    expect((await stack.api("/api/v1/clusters", { body: { name: CLUSTER, server: sc().url } })).status).toBe(201);
    await waitFor(
      async () => (await stack.api(`/api/v1/clusters/${CLUSTER}`)).body.status?.resources?.[0]?.state === "watching",
      { timeoutMs: 20_000, message: "the cluster to be watched" },
    );
  }, 90_000);

  afterAll(async () => {
    if (watcher && watcher !== stack?.services.watcher) await watcher.kill("SIGTERM");
    await stack?.stop();
    await Promise.all(Object.values(rx).map((r) => r.close()));
    await sim?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  /** What a receiver got for one object, in arrival order: "TYPE [changedPaths]". */
  const seen = (r: Receiver, name: string) =>
    (r.delivered() as Delivered[])
      .filter((e) => e.data.name === name)
      .map((e) => `${e.data.type}${e.data.changedPaths ? ` [${e.data.changedPaths.join(",")}]` : ""}`);
  const events = (r: Receiver, name: string) => (r.delivered() as Delivered[]).filter((e) => e.data.name === name);

  async function waitSeen(r: Receiver, name: string, count: number): Promise<string[]> {
    return waitFor(() => seen(r, name).length >= count && seen(r, name), {
      timeoutMs: 30_000,
      message: `${count} events of ${name} (got ${JSON.stringify(seen(r, name))})`,
    });
  }

  function update(name: string, change: (o: Record<string, any>) => void) {
    const o = sc().get(ING, "shop", name) as Record<string, any>;
    change(o);
    sc().update(ING, o);
  }
  const setStatus = (ip: string) => (o: Record<string, any>) => {
    o.status = { loadBalancer: { ingress: [{ ip }] } };
  };
  const setHost = (host: string) => (o: Record<string, any>) => {
    o.spec = { rules: [{ host }] };
  };

  async function restartWatcher(whileDown: () => void | Promise<void>): Promise<void> {
    expect(await watcher.kill("SIGTERM")).toBe(0);
    await whileDown();
    watcher = startService("watcher", stack.env);
    await watcher.waitForLog("ready", 30_000);
  }

  it("a status-only update reaches the unfiltered and the status server, says changedPaths [status], and skips the spec server", async () => {
    sc().create(ING, {
      metadata: { namespace: "shop", name: "web", labels: { app: "web" }, managedFields: MANAGED },
      spec: { rules: [{ host: "web.example.com" }] },
    });
    // Status only, though managedFields and resourceVersion move with it, as on a real API server.
    update("web", (o) => {
      setStatus("10.0.0.1")(o);
      o.metadata.managedFields = [...MANAGED, { manager: "controller", operation: "Update", subresource: "status" }];
    });
    update("web", setHost("web-v2.example.com"));
    update("web", setStatus("10.0.0.2"));
    update("web", (o) => {
      o.metadata.labels = { app: "web", tier: "front" };
    });

    expect(await waitSeen(rx.all, "web", 5)).toEqual([
      "ADDED",
      "MODIFIED [status]",
      "MODIFIED [spec]",
      "MODIFIED [status]",
      "MODIFIED [metadata.labels]",
    ]);
    // Events of one object arrive in order: had the status updates passed the spec filter, they
    // would have come before the spec update did.
    await waitSeen(rx.spec, "web", 2);
    expect(seen(rx.spec, "web")).toEqual(["ADDED", "MODIFIED [spec]"]);
    await waitSeen(rx.status, "web", 3);
    expect(seen(rx.status, "web")).toEqual(["ADDED", "MODIFIED [status]", "MODIFIED [status]"]);
    // One more spec change: the status server got nothing between its second status event and now.
    update("web", setHost("web-v3.example.com"));
    await waitSeen(rx.spec, "web", 3);
    await waitSeen(rx.all, "web", 6);
    expect(seen(rx.status, "web")).toEqual(["ADDED", "MODIFIED [status]", "MODIFIED [status]"]);
  }, 60_000);

  it("strips managedFields unless asked, and sends metadata-only objects to a metadata server", async () => {
    await waitSeen(rx.meta, "web", 6);
    await waitSeen(rx.managed, "web", 6);
    for (const e of events(rx.all, "web")) {
      expect(e.data.object.metadata).not.toHaveProperty("managedFields");
      expect(e.data.object.metadata.name).toBe("web");
    }
    expect(events(rx.all, "web")[0]?.data.object.spec).toEqual({ rules: [{ host: "web.example.com" }] });
    const managed = events(rx.managed, "web");
    expect(managed[0]?.data.object.metadata.managedFields).toEqual(MANAGED);
    expect(managed[1]?.data.object.metadata.managedFields).toHaveLength(2);
    expect(managed[1]?.data.object.status).toEqual({ loadBalancer: { ingress: [{ ip: "10.0.0.1" }] } });
    const meta = events(rx.meta, "web");
    for (const e of meta) {
      expect(Object.keys(e.data.object).sort()).toEqual(["apiVersion", "kind", "metadata"]);
      expect(e.data.object).toMatchObject({ apiVersion: "networking.k8s.io/v1", kind: "Ingress" });
      expect(e.data.object.metadata).not.toHaveProperty("managedFields");
    }
    // The envelope around it is whole: the metadata server still learns what changed.
    expect(meta.map((e) => e.data.changedPaths?.join(","))).toEqual([
      undefined,
      "status",
      "spec",
      "status",
      "metadata.labels",
      "spec",
    ]);
    expect(meta[5]?.data.object.metadata.labels).toEqual({ app: "web", tier: "front" });
  }, 60_000);

  it("gives retries and snapshots the same shape as live deliveries", async () => {
    // The metadata server fails the first attempt of "retried": the retry is shaped too.
    let failed = 0;
    rx.meta.respond = (req) =>
      req.body.includes('"name":"retried"') && failed++ === 0 ? { status: 503 } : { status: 204 };
    sc().create(ING, { metadata: { namespace: "shop", name: "retried", managedFields: MANAGED }, spec: { rules: [] } });
    await waitSeen(rx.meta, "retried", 1);
    expect(failed).toBeGreaterThan(1);
    const [retried] = events(rx.meta, "retried");
    expect(Object.keys(retried?.data.object ?? {}).sort()).toEqual(["apiVersion", "kind", "metadata"]);
    expect(retried?.data.object.metadata).not.toHaveProperty("managedFields");

    const res = await stack.api("/api/v1/servers/meta/resync", { method: "POST" });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    const snapshot = await waitFor(
      () => {
        const got = (rx.meta.delivered() as (Delivered & { data: { snapshot?: boolean } })[]).filter(
          (e) => e.data.snapshot,
        );
        return got.length >= 2 && got;
      },
      { timeoutMs: 30_000, message: "the snapshot of web and retried" },
    );
    expect(snapshot.map((e) => e.data.name).sort()).toEqual(["retried", "web"]);
    for (const e of snapshot) {
      expect(Object.keys(e.data.object).sort()).toEqual(["apiVersion", "kind", "metadata"]);
      expect(e.data.object.metadata).not.toHaveProperty("managedFields");
    }
  }, 60_000);

  it("tells changedPaths right after a watcher restart, from the state kept in Redis", async () => {
    sc().create(ING, { metadata: { namespace: "shop", name: "resumed" }, spec: { rules: [{ host: "r.example" }] } });
    await waitSeen(rx.all, "resumed", 1);
    // A clean stop saves what the watcher knows; the change is made while none runs.
    await restartWatcher(() => update("resumed", setStatus("10.0.1.1")));
    expect(await waitSeen(rx.all, "resumed", 2)).toEqual(["ADDED", "MODIFIED [status]"]);
    // Resumed by watching from the saved resourceVersion: no list needed.
    expect(await scrapeMetric(watcher, "mcic_watcher_relists_total", `cluster="${CLUSTER}"`)).toBe(0);
    update("resumed", setHost("r2.example"));
    await waitSeen(rx.spec, "resumed", 2);
    expect(seen(rx.spec, "resumed")).toEqual(["ADDED", "MODIFIED [spec]"]);
  }, 90_000);

  it("tells changedPaths right after a relist (410 Gone), both after a restart and within a running watcher", async () => {
    sc().create(ING, { metadata: { namespace: "shop", name: "relisted" }, spec: { rules: [{ host: "l.example" }] } });
    await waitSeen(rx.all, "relisted", 1);
    await restartWatcher(() => {
      update("relisted", (o) => {
        o.metadata.annotations = { note: "changed while nobody watched" };
      });
      sc().compact();
    });
    expect(await waitSeen(rx.all, "relisted", 2)).toEqual(["ADDED", "MODIFIED [metadata.annotations]"]);
    const relists = () => scrapeMetric(watcher, "mcic_watcher_relists_total", `cluster="${CLUSTER}"`);
    expect(await relists()).toBe(1);

    // Now without a restart: the watch drops, a change happens, history is compacted.
    sc().closeWatches();
    update("relisted", setStatus("10.0.2.1"));
    sc().compact();
    expect(await waitSeen(rx.all, "relisted", 3)).toEqual([
      "ADDED",
      "MODIFIED [metadata.annotations]",
      "MODIFIED [status]",
    ]);
    expect(await relists()).toBe(2);
    update("relisted", setHost("l2.example"));
    await waitSeen(rx.spec, "relisted", 2);
    expect(seen(rx.spec, "relisted")).toEqual(["ADDED", "MODIFIED [spec]"]);
  }, 90_000);

  it("delivers a MODIFIED without changedPaths to a changedPaths server when the state has no hashes (fail open)", async () => {
    sc().create(ING, { metadata: { namespace: "shop", name: "legacy" }, spec: { rules: [{ host: "o.example" }] } });
    await waitSeen(rx.spec, "legacy", 1);
    const client = new Redis(redis.url);
    try {
      await restartWatcher(async () => {
        // Rewrite what the watcher knows as an older mcic wrote it: [rv, namespace, name, kind].
        const objectKeys = await client.keys(redisKeys("mcic").clusterObjects(CLUSTER, "*"));
        expect(objectKeys).toHaveLength(1);
        const key = objectKeys[0] as string;
        const entries = await client.hgetall(key);
        expect(Object.keys(entries).length).toBeGreaterThan(0);
        for (const [uid, text] of Object.entries(entries)) {
          const record = JSON.parse(text) as string[];
          expect(record).toHaveLength(5);
          await client.hset(key, uid, JSON.stringify(record.slice(0, 4)));
        }
        update("legacy", setStatus("10.0.3.1"));
      });
    } finally {
      client.disconnect();
    }
    expect(await waitSeen(rx.spec, "legacy", 2)).toEqual(["ADDED", "MODIFIED"]);
    expect(events(rx.spec, "legacy")[1]?.data).not.toHaveProperty("changedPaths");
    // The hashes are known again from then on: the next status-only change is filtered out.
    update("legacy", setStatus("10.0.3.2"));
    update("legacy", setHost("o2.example"));
    await waitSeen(rx.spec, "legacy", 3);
    expect(seen(rx.spec, "legacy")).toEqual(["ADDED", "MODIFIED", "MODIFIED [spec]"]);
  }, 90_000);

  it("refuses bad changedPaths, payload and includeManagedFields with a 400 naming the field, storing nothing", async () => {
    const cases: [object, string][] = [
      [{ filters: { changedPaths: ["metadata.resourceVersion"] } }, "filters.changedPaths.0"],
      [{ filters: { changedPaths: ["spec", "metadata.managedFields"] } }, "filters.changedPaths.1"],
      [{ filters: { changedPaths: ["status", "spec", "metadata.generation"] } }, "filters.changedPaths.2"],
      [{ filters: { changedPaths: ["apiVersion"] } }, "filters.changedPaths.0"],
      [{ filters: { changedPaths: ["metadata"] } }, "filters.changedPaths.0"],
      [{ filters: { changedPaths: ["spec", "spec.rules"] } }, "filters.changedPaths.1"],
      [{ filters: { changedPaths: ["__proto__ "] } }, "filters.changedPaths.0"],
      [{ filters: { changedPaths: [] } }, "filters.changedPaths"],
      [{ filters: { changedPaths: "spec" } }, "filters.changedPaths"],
      [{ filters: { changedPaths: [42] } }, "filters.changedPaths.0"],
      [{ payload: "everything" }, "payload"],
      [{ includeManagedFields: "yes" }, "includeManagedFields"],
    ];
    for (const [extra, field] of cases) {
      const res = await stack.api("/api/v1/servers", { body: { name: "bad", url: "http://127.0.0.1:9/", ...extra } });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
      const replaced = await stack.api("/api/v1/servers/all", {
        method: "PUT",
        body: { name: "all", url: rx.all.url, snapshot: false, filters: { clusters: [CLUSTER] }, ...extra },
      });
      expect(replaced.status, JSON.stringify(extra)).toBe(400);
    }
    expect((await stack.api("/api/v1/servers/bad")).status).toBe(404);
    const all = await stack.api("/api/v1/servers/all");
    expect(all.body).toMatchObject({ payload: "full", includeManagedFields: false, filters: { clusters: [CLUSTER] } });
    expect(all.body.filters).not.toHaveProperty("changedPaths");
  });
});
