import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@mcic/core/testing";
import { KubeSim } from "./index.js";

const ING = "networking.k8s.io/v1/ingresses";
const ING_PATH = "/apis/networking.k8s.io/v1/ingresses";

async function get(url: string, token = "tok") {
  const res = await request(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, body: (await res.body.json()) as any };
}

/** Opens a watch and collects its events until `close()`. */
async function openWatch(url: string) {
  const events: any[] = [];
  const controller = new AbortController();
  const res = await request(url, { headers: { authorization: "Bearer tok" }, signal: controller.signal });
  let ended = false;
  void (async () => {
    let buffer = "";
    try {
      for await (const chunk of res.body) {
        buffer += chunk.toString();
        let i = buffer.indexOf("\n");
        while (i >= 0) {
          events.push(JSON.parse(buffer.slice(0, i)));
          buffer = buffer.slice(i + 1);
          i = buffer.indexOf("\n");
        }
      }
    } catch {
      // aborted by close()
    }
    ended = true;
  })();
  return { status: res.statusCode, events, ended: () => ended, close: () => controller.abort() };
}

describe("kube-sim list/watch protocol", () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await KubeSim.start({ tokens: ["tok"], bookmarkIntervalMs: 50, historyLimit: 50 });
  });
  afterAll(async () => {
    await sim.stop();
  });

  it("refuses requests without a valid token", async () => {
    const res = await get(`${sim.url}${ING_PATH}`, "wrong");
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ kind: "Status", code: 401, reason: "Unauthorized" });
  });

  it("pages a list with limit/continue, each object exactly once, items without kind", async () => {
    const c = sim.cluster("paging");
    for (let i = 0; i < 25; i++) c.create(ING, { metadata: { namespace: `ns${i % 3}`, name: `ing-${i}` } });
    const names: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const res = await get(`${c.url}${ING_PATH}?limit=10${token ? `&continue=${token}` : ""}`);
      expect(res.body.kind).toBe("IngressList");
      expect(res.body.items[0].kind).toBeUndefined();
      names.push(...res.body.items.map((o: any) => o.metadata.name));
      token = res.body.metadata.continue ?? "";
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(names.sort()).toEqual(Array.from({ length: 25 }, (_, i) => `ing-${i}`).sort());
  });

  it("replays exactly the events after a resourceVersion, then streams live ones with bookmarks", async () => {
    const c = sim.cluster("replay");
    c.create(ING, { metadata: { namespace: "a", name: "one" } });
    const from = c.resourceVersion;
    c.create(ING, { metadata: { namespace: "a", name: "two" } });
    c.delete(ING, "a", "one");
    const w = await openWatch(`${c.url}${ING_PATH}?watch=true&resourceVersion=${from}&allowWatchBookmarks=true`);
    c.update(ING, { ...c.get(ING, "a", "two"), spec: { x: 1 } });
    await waitFor(() => w.events.some((e) => e.type === "BOOKMARK"), { message: "a bookmark" });
    const changes = w.events.filter((e) => e.type !== "BOOKMARK").map((e) => `${e.type} ${e.object.metadata.name}`);
    expect(changes).toEqual(["ADDED two", "DELETED one", "MODIFIED two"]);
    expect(w.events.find((e) => e.type === "ADDED").object.kind).toBe("Ingress");
    expect(w.events.find((e) => e.type === "BOOKMARK").object.metadata.resourceVersion).toBe(c.resourceVersion);
    w.close();
  });

  it("sends ERROR 410 Expired for a compacted resourceVersion and ends the stream", async () => {
    const c = sim.cluster("expired");
    c.create(ING, { metadata: { namespace: "a", name: "one" } });
    const old = c.resourceVersion;
    c.create(ING, { metadata: { namespace: "a", name: "two" } });
    c.compact();
    const w = await openWatch(`${c.url}${ING_PATH}?watch=1&resourceVersion=${old}`);
    await waitFor(() => w.ended(), { message: "stream end" });
    expect(w.events).toEqual([{ type: "ERROR", object: expect.objectContaining({ code: 410, reason: "Expired" }) }]);
    const list = await get(`${c.url}${ING_PATH}?limit=1`);
    c.create(ING, { metadata: { namespace: "a", name: "three" } });
    c.compact();
    const stale = await get(`${c.url}${ING_PATH}?limit=1&continue=${list.body.metadata.continue}`);
    expect(stale.status).toBe(410);
  });

  it("filters list and watch by label selector and namespace path", async () => {
    const c = sim.cluster("labels");
    c.create(ING, { metadata: { namespace: "a", name: "web", labels: { app: "web" } } });
    c.create(ING, { metadata: { namespace: "b", name: "web", labels: { app: "web" } } });
    c.create(ING, { metadata: { namespace: "a", name: "db", labels: { app: "db" } } });
    const listed = await get(`${c.url}/apis/networking.k8s.io/v1/namespaces/a/ingresses?labelSelector=app%3Dweb`);
    expect(listed.body.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(["a/web"]);
    const w = await openWatch(
      `${c.url}/apis/networking.k8s.io/v1/namespaces/a/ingresses?watch=true&labelSelector=app%3Dweb`,
    );
    await waitFor(() => w.events.length === 1, { message: "synthetic ADDED" });
    c.create(ING, { metadata: { namespace: "a", name: "db2", labels: { app: "db" } } });
    c.create(ING, { metadata: { namespace: "b", name: "web2", labels: { app: "web" } } });
    c.create(ING, { metadata: { namespace: "a", name: "web2", labels: { app: "web" } } });
    await waitFor(() => w.events.length === 2, { message: "one matching event" });
    expect(w.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["ADDED web", "ADDED web2"]);
    w.close();
  });

  it("serves a registered CRD and cluster-scoped resources, in discovery too", async () => {
    const c = sim.cluster("crd");
    c.registerResource({
      group: "stable.example.com",
      version: "v1",
      resource: "widgets",
      kind: "Widget",
      namespaced: true,
    });
    c.create("stable.example.com/v1/widgets", { metadata: { namespace: "x", name: "w1" }, spec: { size: 3 } });
    c.create("v1/namespaces", { metadata: { name: "team-a" } });
    const groups = await get(`${c.url}/apis`);
    expect(groups.body.groups.map((g: any) => g.name)).toContain("stable.example.com");
    const resources = await get(`${c.url}/apis/stable.example.com/v1`);
    expect(resources.body.resources).toEqual([
      expect.objectContaining({ name: "widgets", kind: "Widget", namespaced: true }),
    ]);
    const widgets = await get(`${c.url}/apis/stable.example.com/v1/widgets`);
    expect(widgets.body.items.map((o: any) => o.metadata.name)).toEqual(["w1"]);
    const namespaces = await get(`${c.url}/api/v1/namespaces`);
    expect(namespaces.body.items[0].metadata).not.toHaveProperty("namespace");
    expect((await get(`${c.url}/apis/nothing.example.com/v1`)).status).toBe(404);
  });

  it("keeps virtual clusters apart", async () => {
    sim.cluster("left").create(ING, { metadata: { namespace: "a", name: "only-left" } });
    const right = await get(`${sim.cluster("right").url}${ING_PATH}`);
    expect(right.body.items).toEqual([]);
  });
});
