import { waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim, type SimCluster } from "./index.js";
import { changes, testClient } from "./test-client.js";

const ING = "networking.k8s.io/v1/ingresses";
const PATH = "/apis/networking.k8s.io/v1/ingresses";
const HISTORY = 20;

const ingress = (namespace: string, name: string, labels?: Record<string, string>) => ({
  metadata: { namespace, name, ...(labels ? { labels } : {}) },
});

describe("kube-sim lists and watches", () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await KubeSim.start({ tokens: ["tok"], bookmarkIntervalMs: 50, historyLimit: HISTORY });
  });
  afterAll(async () => {
    await sim.stop();
  });
  const api = (c: SimCluster) => testClient(c.url, "tok");

  it("pages with limit/continue: every object exactly once, in namespace/name order, all from one snapshot", async () => {
    const c = sim.cluster("paging");
    for (let i = 0; i < 25; i++) c.create(ING, ingress(`ns${i % 3}`, `ing-${String(i).padStart(2, "0")}`));
    const expected = c.list(ING).map((o) => `${o.metadata.namespace}/${o.metadata.name}`);

    const first = await api(c).get(`${PATH}?limit=10`);
    expect(first.body).toMatchObject({ kind: "IngressList", apiVersion: "networking.k8s.io/v1" });
    expect(first.body.metadata.remainingItemCount).toBe(15);
    expect(first.body.items[0].kind).toBeUndefined();
    // Changes between pages must not leak into the pages still to come.
    c.delete(ING, "ns2", "ing-23");
    c.create(ING, ingress("ns2", "zz-late"));

    const seen = first.body.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`);
    let token: string | undefined = first.body.metadata.continue;
    while (token) {
      const page = await api(c).get(`${PATH}?limit=10&continue=${encodeURIComponent(token)}`);
      expect(page.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
      seen.push(...page.body.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`));
      token = page.body.metadata.continue;
    }
    expect(seen).toEqual(expected);

    const fresh = await api(c).get(PATH);
    const names = fresh.body.items.map((o: any) => o.metadata.name);
    expect(names).toContain("zz-late");
    expect(names).not.toContain("ing-23");
    const listRv = first.body.metadata.resourceVersion;
    const exact = await api(c).get(`${PATH}?resourceVersion=${listRv}&resourceVersionMatch=Exact`);
    expect(exact.body.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(expected);
  });

  it("refuses a continue token once history has been compacted past it (410 Expired)", async () => {
    const c = sim.cluster("continue-expired");
    for (const n of ["a", "b", "c"]) c.create(ING, ingress("x", n));
    const first = await api(c).get(`${PATH}?limit=1`);
    c.create(ING, ingress("x", "d"));
    c.compact();
    const stale = await api(c).get(`${PATH}?limit=1&continue=${first.body.metadata.continue}`);
    expect(stale.status).toBe(410);
    expect(stale.body).toMatchObject({ kind: "Status", status: "Failure", reason: "Expired", code: 410 });
  });

  it("watch from a resourceVersion replays exactly the later changes, in order, then follows live ones", async () => {
    const c = sim.cluster("replay");
    c.create(ING, ingress("a", "one"));
    const from = c.resourceVersion;
    c.create(ING, ingress("a", "two"));
    c.update(ING, { ...c.get(ING, "a", "two"), spec: { defaultBackend: { service: { name: "s" } } } });
    const deleted = c.delete(ING, "a", "one");

    const w = await api(c).watch(`${PATH}?watch=true&resourceVersion=${from}`);
    expect(w.status).toBe(200);
    await waitFor(() => w.events.length === 3, { message: "replayed events" });
    c.create(ING, ingress("b", "three"));
    await waitFor(() => w.events.length === 4, { message: "live event" });
    w.close();

    expect(changes(w)).toEqual(["ADDED a/two", "MODIFIED a/two", "DELETED a/one", "ADDED b/three"]);
    expect(w.events.every((e) => e.object.kind === "Ingress" && e.object.apiVersion === "networking.k8s.io/v1")).toBe(
      true,
    );
    const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs).toEqual([...rvs].sort((x, y) => x - y));
    expect(w.events[2]?.object.metadata.resourceVersion).toBe(deleted.metadata.resourceVersion);
    expect(Number(deleted.metadata.resourceVersion)).toBeGreaterThan(Number(from));
  });

  it('watch without a resourceVersion, or "0", starts with an ADDED event for each current object', async () => {
    const c = sim.cluster("initial");
    c.create(ING, ingress("a", "x"));
    c.create(ING, ingress("b", "y"));
    for (const rv of ["", "&resourceVersion=0"]) {
      const w = await api(c).watch(`${PATH}?watch=1${rv}`);
      await waitFor(() => w.events.length === 2, { message: "synthetic ADDED events" });
      w.close();
      expect(changes(w)).toEqual(["ADDED a/x", "ADDED b/y"]);
    }
  });

  it("a resourceVersion older than the kept history gets one ERROR event, 410 Expired, and the end of the stream", async () => {
    const c = sim.cluster("expired");
    c.create(ING, ingress("a", "one"));
    const beforeCompaction = c.resourceVersion;
    c.create(ING, ingress("a", "two"));
    c.compact();
    const w = await api(c).watch(`${PATH}?watch=true&resourceVersion=${beforeCompaction}`);
    expect(w.status).toBe(200);
    expect(await w.ended).toBeUndefined();
    expect(w.events).toEqual([
      {
        type: "ERROR",
        object: {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: `too old resource version: ${beforeCompaction} (${c.resourceVersion})`,
          reason: "Expired",
          code: 410,
        },
      },
    ]);

    // History is bounded too: more than historyLimit writes push the oldest out.
    const start = c.resourceVersion;
    for (let i = 0; i < HISTORY + 5; i++) c.create(ING, ingress("b", `n${i}`));
    const tooOld = await api(c).watch(`${PATH}?watch=true&resourceVersion=${start}`);
    await tooOld.ended;
    expect(tooOld.events.map((e) => e.object.code)).toEqual([410]);
    const recent = await api(c).watch(`${PATH}?watch=true&resourceVersion=${Number(c.resourceVersion) - 3}`);
    await waitFor(() => recent.events.length === 3, { message: "replay of the last 3 changes" });
    recent.close();
    expect(changes(recent)).toEqual(["ADDED b/n22", "ADDED b/n23", "ADDED b/n24"]);
  });

  it("sends BOOKMARK events with the current resourceVersion only to watches that allow them", async () => {
    const c = sim.cluster("bookmarks");
    c.create(ING, ingress("a", "one"));
    const plain = await api(c).watch(`${PATH}?watch=true&resourceVersion=${c.resourceVersion}`);
    const w = await api(c).watch(`${PATH}?watch=true&resourceVersion=${c.resourceVersion}&allowWatchBookmarks=true`);
    c.create(ING, ingress("a", "two"));
    const bookmark = await waitFor(() => w.events.find((e) => e.type === "BOOKMARK"), { message: "a bookmark" });
    expect(bookmark.object).toEqual({
      kind: "Ingress",
      apiVersion: "networking.k8s.io/v1",
      metadata: { resourceVersion: c.resourceVersion },
    });
    // `plain` opened first, so it has waited at least as long as `w` did for its bookmark.
    expect(plain.events.map((e) => e.type)).toEqual(["ADDED"]);
    plain.close();
    w.close();
  });

  it("ends a watch cleanly after timeoutSeconds", async () => {
    const c = sim.cluster("timeout");
    const started = Date.now();
    const w = await api(c).watch(`${PATH}?watch=true&timeoutSeconds=1`);
    expect(await w.ended).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("filters lists and watches by label selector, field selector and namespace path", async () => {
    const c = sim.cluster("selectors");
    c.create(ING, ingress("a", "web", { app: "web" }));
    c.create(ING, ingress("b", "web", { app: "web" }));
    c.create(ING, ingress("a", "db", { app: "db" }));
    const names = (r: { body: any }) => r.body.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`);
    const nsPath = "/apis/networking.k8s.io/v1/namespaces/a/ingresses";

    expect(names(await api(c).get(`${nsPath}?labelSelector=app%3Dweb`))).toEqual(["a/web"]);
    expect(names(await api(c).get(`${PATH}?labelSelector=${encodeURIComponent("app in (db,web),app!=db")}`))).toEqual([
      "a/web",
      "b/web",
    ]);
    expect(names(await api(c).get(`${PATH}?fieldSelector=metadata.name%3Dweb,metadata.namespace!%3Da`))).toEqual([
      "b/web",
    ]);
    expect((await api(c).get(`${PATH}?labelSelector=app%3D%3D%3D`)).status).toBe(400);
    expect((await api(c).get(`${PATH}?fieldSelector=spec.rules%3Dx`)).status).toBe(400);

    const w = await api(c).watch(`${nsPath}?watch=true&labelSelector=app%3Dweb`);
    const byName = await api(c).watch(`${PATH}?watch=true&fieldSelector=metadata.name%3Dweb2`);
    await waitFor(() => w.events.length === 1, { message: "synthetic ADDED" });
    c.create(ING, ingress("a", "db2", { app: "db" }));
    c.create(ING, ingress("b", "web2", { app: "web" }));
    c.create(ING, ingress("a", "web2", { app: "web" }));
    await waitFor(() => w.events.length === 2 && byName.events.length === 2, { message: "matching events" });
    w.close();
    byName.close();
    expect(changes(w)).toEqual(["ADDED a/web", "ADDED a/web2"]);
    expect(changes(byName)).toEqual(["ADDED b/web2", "ADDED a/web2"]);
  });

  it("tells a label-filtered watch about objects relabeled out of and into its selector, replay included", async () => {
    const c = sim.cluster("relabel");
    const relabel = (app: string) => {
      const o = c.get(ING, "a", "web");
      if (!o) throw new Error("a/web is missing");
      c.update(ING, { ...o, metadata: { ...o.metadata, labels: { app } } });
    };
    c.create(ING, ingress("a", "web", { app: "web" }));
    const from = c.resourceVersion;
    const live = await api(c).watch(`${PATH}?watch=true&resourceVersion=${from}&labelSelector=app%3Dweb`);
    relabel("db");
    relabel("db2");
    relabel("web");
    const replayed = await api(c).watch(`${PATH}?watch=true&resourceVersion=${from}&labelSelector=app%3Dweb`);
    await waitFor(() => live.events.length === 2 && replayed.events.length === 2, { message: "selector events" });
    live.close();
    replayed.close();
    for (const w of [live, replayed]) {
      expect(changes(w)).toEqual(["DELETED a/web", "ADDED a/web"]);
      // Leaving the selector is reported with the content that matched, at the change's resourceVersion.
      expect(w.events[0]?.object.metadata).toMatchObject({
        labels: { app: "web" },
        resourceVersion: String(Number(from) + 1),
      });
    }
  });

  it("closeWatches() cuts every open stream, or ends them cleanly with { graceful: true }", async () => {
    const c = sim.cluster("close");
    const cut = await api(c).watch(`${PATH}?watch=true`);
    c.closeWatches();
    expect(await cut.ended).toBeInstanceOf(Error);

    const ended = await api(c).watch(`${PATH}?watch=true`);
    c.closeWatches({ graceful: true });
    expect(await ended.ended).toBeUndefined();

    // Writes after the streams are gone still work and reach new watches.
    c.create(ING, ingress("a", "after"));
    const again = await api(c).watch(`${PATH}?watch=true`);
    await waitFor(() => again.events.length === 1, { message: "event after reconnect" });
    again.close();
    expect(changes(again)).toEqual(["ADDED a/after"]);
  });
});
