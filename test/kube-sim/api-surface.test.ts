import { waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "./index.js";
import { changes, testClient } from "./test-client.js";

const ING = "networking.k8s.io/v1/ingresses";
const SHOP = "/apis/networking.k8s.io/v1/namespaces/shop/ingresses";

describe("kube-sim API surface", () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await KubeSim.start({ tokens: ["tok", "other"] });
  });
  afterAll(async () => {
    await sim.stop();
  });

  it("answers 401 Unauthorized without a known bearer token", async () => {
    for (const token of [undefined, "wrong"]) {
      const res = await testClient(sim.url, token).get("/api/v1/namespaces");
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ kind: "Status", status: "Failure", reason: "Unauthorized", code: 401 });
    }
    expect((await testClient(sim.url, "other").get("/api/v1/namespaces")).status).toBe(200);
  });

  it("serves discovery for built-in and registered resources, and 404 for unknown ones", async () => {
    const c = sim.cluster("discovery");
    c.registerResource({
      group: "stable.example.com",
      version: "v1",
      resource: "widgets",
      kind: "Widget",
      namespaced: true,
    });
    const api = testClient(c.url, "tok");
    expect((await api.get("/version")).body.gitVersion).toMatch(/^v1\.\d+/);
    expect((await api.get("/api")).body).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    const core = (await api.get("/api/v1")).body;
    expect(core.resources).toContainEqual(
      expect.objectContaining({ name: "services", kind: "Service", namespaced: true }),
    );
    expect(core.resources).toContainEqual(expect.objectContaining({ name: "nodes", kind: "Node", namespaced: false }));
    const groups = (await api.get("/apis")).body;
    expect(groups.kind).toBe("APIGroupList");
    expect(groups.groups.map((g: any) => g.name).sort()).toEqual(["apps", "networking.k8s.io", "stable.example.com"]);
    expect((await api.get("/apis/stable.example.com")).body.preferredVersion).toEqual({
      groupVersion: "stable.example.com/v1",
      version: "v1",
    });
    const networking = (await api.get("/apis/networking.k8s.io/v1")).body;
    expect(networking.resources).toContainEqual(
      expect.objectContaining({
        name: "ingresses",
        kind: "Ingress",
        namespaced: true,
        verbs: expect.arrayContaining(["list", "watch"]),
      }),
    );
    for (const path of ["/apis/nothing.example.com/v1", "/apis/networking.k8s.io/v2", "/apis/apps/v1/widgets"]) {
      const res = await api.get(path);
      expect([path, res.status, res.body.reason]).toEqual([path, 404, "NotFound"]);
    }
  });

  it("lists and watches a CRD registered with registerResource", async () => {
    const c = sim.cluster("crd");
    c.registerResource({
      group: "stable.example.com",
      version: "v1",
      resource: "widgets",
      kind: "Widget",
      namespaced: true,
    });
    const api = testClient(c.url, "tok");
    const path = "/apis/stable.example.com/v1/widgets";
    c.create("stable.example.com/v1/widgets", { metadata: { namespace: "x", name: "w1" }, spec: { size: 3 } });
    const list = await api.get(path);
    expect(list.body.kind).toBe("WidgetList");
    expect(list.body.items.map((o: any) => o.spec.size)).toEqual([3]);
    const w = await api.watch(`${path}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`);
    c.create("widgets", { metadata: { namespace: "y", name: "w2" } });
    await waitFor(() => w.events.length === 1, { message: "widget event" });
    w.close();
    expect(w.events[0]?.object).toMatchObject({ kind: "Widget", apiVersion: "stable.example.com/v1" });
  });

  it("creates, reads, replaces, merge-patches and deletes over HTTP, with the apiserver's Status errors", async () => {
    const api = testClient(sim.cluster("crud").url, "tok");
    const w = await api.watch(`${SHOP}?watch=true`);
    const body = {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "web" },
      spec: { rules: [{ host: "a" }] },
    };

    const created = await api.call("POST", SHOP, body);
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({ namespace: "shop", name: "web", generation: 1 });
    expect(created.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.body.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await api.call("POST", SHOP, body)).body).toMatchObject({ code: 409, reason: "AlreadyExists" });
    expect((await api.call("POST", SHOP, "{not json")).body).toMatchObject({ code: 400, reason: "BadRequest" });
    const elsewhere = await api.call("POST", SHOP, { metadata: { name: "x", namespace: "blog" } });
    expect([elsewhere.status, elsewhere.body.reason]).toEqual([422, "Invalid"]);
    expect((await api.get(`${SHOP}/web`)).body.metadata.uid).toBe(created.body.metadata.uid);

    const replaced = await api.call("PUT", `${SHOP}/web`, { ...created.body, spec: { rules: [{ host: "b" }] } });
    expect(replaced.status).toBe(200);
    expect(Number(replaced.body.metadata.resourceVersion)).toBeGreaterThan(
      Number(created.body.metadata.resourceVersion),
    );
    expect(replaced.body.metadata.generation).toBe(2);
    const stale = await api.call("PUT", `${SHOP}/web`, created.body);
    expect([stale.status, stale.body.reason]).toEqual([409, "Conflict"]);
    expect((await api.call("PUT", `${SHOP}/other`, created.body)).status).toBe(400);

    const patched = await api.call(
      "PATCH",
      `${SHOP}/web`,
      { metadata: { labels: { tier: "front" } } },
      "application/merge-patch+json",
    );
    expect(patched.status).toBe(200);
    expect(patched.body.metadata.labels).toEqual({ tier: "front" });
    expect(patched.body.spec).toEqual({ rules: [{ host: "b" }] });
    expect(patched.body.metadata.generation).toBe(2);
    expect((await api.call("PATCH", `${SHOP}/web`, [], "application/json-patch+json")).status).toBe(415);

    const deleted = await api.call("DELETE", `${SHOP}/web`);
    expect(deleted.status).toBe(200);
    expect((await api.get(`${SHOP}/web`)).body).toMatchObject({ code: 404, reason: "NotFound" });
    expect((await api.call("DELETE", `${SHOP}/web`)).status).toBe(404);
    expect((await api.get("/apis/networking.k8s.io/v1/namespaces/shop/gadgets")).status).toBe(404);

    await waitFor(() => w.events.length === 4, { message: "one event per successful write" });
    w.close();
    expect(changes(w)).toEqual(["ADDED shop/web", "MODIFIED shop/web", "MODIFIED shop/web", "DELETED shop/web"]);
  });

  it("serves cluster-scoped resources without namespaces", async () => {
    const c = sim.cluster("cluster-scoped");
    const api = testClient(c.url, "tok");
    const w = await api.watch("/api/v1/namespaces?watch=true");
    const created = await api.call("POST", "/api/v1/namespaces", { metadata: { name: "team-a" } });
    expect(created.status).toBe(201);
    expect(created.body.metadata).not.toHaveProperty("namespace");
    expect((await api.get("/api/v1/namespaces/team-a")).body.metadata.name).toBe("team-a");
    expect((await api.get("/api/v1/namespaces")).body.items.map((o: any) => o.metadata.name)).toEqual(["team-a"]);
    expect((await api.get("/api/v1/namespaces/team-a/nodes")).status).toBe(404);
    await waitFor(() => w.events.length === 1, { message: "namespace event" });
    w.close();
    expect(changes(w)).toEqual(["ADDED team-a"]);
    expect(c.get("v1/namespaces", undefined, "team-a")?.metadata.uid).toBe(created.body.metadata.uid);
  });

  it("keeps virtual clusters apart, each with its own resourceVersion counter; unknown ones are 404", async () => {
    const left = sim.cluster("left");
    const right = sim.cluster("right");
    const rightRv = right.resourceVersion;
    const rightWatch = await testClient(right.url, "tok").watch("/apis/networking.k8s.io/v1/ingresses?watch=true");
    left.create(ING, { metadata: { namespace: "a", name: "only-left" } });
    right.create(ING, { metadata: { namespace: "a", name: "only-right" } });
    await waitFor(() => rightWatch.events.length === 1, { message: "right's event" });
    rightWatch.close();
    expect(changes(rightWatch)).toEqual(["ADDED a/only-right"]);
    expect(right.resourceVersion).toBe(String(Number(rightRv) + 1));
    const listed = await testClient(left.url, "tok").get("/apis/networking.k8s.io/v1/ingresses");
    expect(listed.body.items.map((o: any) => o.metadata.name)).toEqual(["only-left"]);
    expect(left.url).toBe(`${sim.url}/clusters/left`);
    const unknown = await testClient(`${sim.url}/clusters/nowhere`, "tok").get("/api/v1/namespaces");
    expect([unknown.status, unknown.body.reason]).toEqual([404, "NotFound"]);
  });

  it("stop() ends open watches and closes the port", async () => {
    const own = await KubeSim.start();
    const w = await testClient(own.url).watch("/api/v1/pods?watch=true");
    await own.stop();
    await w.ended;
    await expect(testClient(own.url).get("/api/v1/pods")).rejects.toThrow();
  });
});
