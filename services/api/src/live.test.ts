import { type Envelope, RATE_BUCKET_SECONDS, ensureEventsStream, rateBucket } from "@mcic/core";
import { type SseReader, openSse, waitFor } from "@mcic/core/testing";
import { jetstream } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Harness, KUBECONFIG, startHarness } from "./test-harness.js";

let seq = 0;
function envelope(over: Partial<Envelope> = {}): Envelope {
  seq++;
  const base: Envelope = {
    id: `prod/uid-${seq}/${seq}/ADDED`,
    cluster: "prod",
    group: "networking.k8s.io",
    version: "v1",
    resource: "ingresses",
    kind: "Ingress",
    namespace: "shop",
    name: `web-${seq}`,
    uid: `uid-${seq}`,
    resourceVersion: String(seq),
    type: "ADDED",
    observedAt: new Date().toISOString(),
    object: { metadata: { name: `web-${seq}`, namespace: "shop", labels: { app: "web" } } },
  };
  return { ...base, ...over };
}

describe("live events: GET /api/v1/events/stream and GET /api/v1/stats", () => {
  let h: Harness;
  const open: SseReader[] = [];
  const stream = async (query = "", headers?: Record<string, string>) => {
    const reader = await openSse(
      `${h.base}/api/v1/events/stream${query}`,
      headers ?? { authorization: `Bearer ${h.token}` },
    );
    open.push(reader);
    return reader;
  };
  const publish = async (e: Envelope) => {
    const subject = `${h.prefix}.events.${e.cluster}.${e.group ? e.group.replaceAll(".", "_") : "core"}.${e.resource}.${e.namespace ?? "_"}`;
    await jetstream(h.nats).publish(subject, JSON.stringify(e), { msgID: e.id });
  };
  const envelopes = (r: SseReader) =>
    r.events.filter((e) => e.event === "message").map((e) => JSON.parse(e.data) as Envelope);

  beforeAll(async () => {
    h = await startHarness({ maxEventStreams: 3, streamKeepaliveMs: 100 });
    await ensureEventsStream(h.nats, { prefix: h.prefix, replicas: 1 });
  });
  afterEach(() => {
    for (const r of open.splice(0)) r.close();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("streams matching envelopes live, as stored: no managedFields, no sealed values, Secrets REDACTED", async () => {
    const all = await stream();
    const shopIngresses = await stream("?cluster=prod&resource=ingresses&namespace=shop&eventType=ADDED");
    expect(all.status).toBe(200);
    expect(all.headers.get("content-type")).toMatch(/^text\/event-stream/);
    await waitFor(() => all.comments.length > 0 && shopIngresses.comments.length > 0, { message: "stream open" });

    const wanted = envelope({
      object: { metadata: { name: "web", namespace: "shop", managedFields: [{ manager: "kubectl" }] } },
    });
    const otherCluster = envelope({ cluster: "lab", id: "lab/x/1/ADDED" });
    const secret = envelope({
      group: "",
      resource: "secrets",
      kind: "Secret",
      object: { metadata: { name: "db" }, data: { password: "REDACTED" } },
      sealedSecretValues: "v1.sealed-bytes",
    });
    await publish(wanted);
    await publish(otherCluster);
    await publish(secret);

    await waitFor(() => envelopes(all).length === 3, { message: "three envelopes on the unfiltered stream" });
    await waitFor(() => envelopes(shopIngresses).length === 1, { message: "one envelope on the filtered stream" });
    const [got] = envelopes(shopIngresses);
    expect(got?.id).toBe(wanted.id);
    expect(got?.object.metadata).toEqual({ name: "web", namespace: "shop" });
    const sentSecret = envelopes(all).find((e) => e.resource === "secrets");
    expect(sentSecret?.object.data).toEqual({ password: "REDACTED" });
    expect(JSON.stringify(all.events)).not.toContain("sealed");
  });

  it("sends a change published twice (a watcher restart) once", async () => {
    const r = await stream("?cluster=dup");
    await waitFor(() => r.comments.length > 0);
    const e = envelope({ cluster: "dup", id: "dup/u/1/ADDED" });
    await publish(e);
    // The stream stores it once; the second publish still reaches core subscribers.
    const again = headers();
    again.set("Nats-Msg-Id", e.id);
    h.nats.publish(`${h.prefix}.events.dup.networking_k8s_io.ingresses.shop`, JSON.stringify(e), { headers: again });
    const marker = envelope({ cluster: "dup", id: "dup/u/2/MODIFIED" });
    await publish(marker);
    await waitFor(() => envelopes(r).some((x) => x.id === marker.id));
    expect(envelopes(r).map((x) => x.id)).toEqual([e.id, marker.id]);
  });

  it("filters by name globs and excluded namespaces like a server's filters", async () => {
    const r = await stream("?cluster=globs&names=web-*,api-?&excludeNamespaces=kube-system");
    await waitFor(() => r.comments.length > 0, { message: "stream open" });
    const excluded = envelope({ cluster: "globs", namespace: "kube-system", name: "web-sys", id: "globs/a/1/ADDED" });
    const otherName = envelope({ cluster: "globs", name: "api-12", id: "globs/b/1/ADDED" });
    const clusterScoped = envelope({ cluster: "globs", namespace: undefined, name: "web-node", id: "globs/c/1/ADDED" });
    const wanted = envelope({ cluster: "globs", name: "api-1", id: "globs/d/1/ADDED" });
    for (const e of [excluded, otherName, clusterScoped, wanted]) await publish(e);
    // One subscription delivers in publish order: once the last arrived, the others were decided.
    await waitFor(() => envelopes(r).some((x) => x.id === wanted.id), { message: "the matching envelope" });
    expect(envelopes(r).map((x) => x.id)).toEqual([clusterScoped.id, wanted.id]);
  });

  it("sends keepalive comments on a quiet stream", async () => {
    const r = await stream("?cluster=quiet");
    await waitFor(() => r.comments.filter((c) => c === "keepalive").length >= 2, { message: "two keepalives" });
    expect(r.events).toEqual([]);
  });

  it("refuses a bad query with 400 naming the parameter, and a missing token with 401", async () => {
    const cases: [string, string][] = [
      ["?cluster=Not_A_Name", "cluster.0"],
      ["?eventType=ADDED,EXPLODED", "eventType.1"],
      ["?labelSelector=app%20in%20(", "labelSelector"],
      ["?names=%5B", "names.0"],
      ["?token=x", "token"],
      ["?cluster=a&cluster=b", "cluster"],
    ];
    for (const [query, path] of cases) {
      const res = await h.call("GET", `/api/v1/events/stream${query}`);
      expect(res.status, query).toBe(400);
      expect(res.type).toMatch(/problem\+json/);
      expect(
        res.body.errors.map((e: { path: string }) => e.path),
        query,
      ).toContain(path);
    }
    const anonymous = await stream("", {});
    expect(anonymous.status).toBe(401);
    // A HEAD answers at once and holds no stream open.
    const head = await fetch(`${h.base}/api/v1/events/stream`, {
      method: "HEAD",
      headers: { authorization: `Bearer ${h.token}` },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toMatch(/^text\/event-stream/);
  });

  it("limits open streams (503), frees a slot when a client goes away, and ends streams at close", async () => {
    const held = [await stream(), await stream(), await stream()];
    await waitFor(() => held.every((r) => r.comments.length > 0));
    const refused = await h.call("GET", "/api/v1/events/stream");
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    held[0]?.close();
    const again = await waitFor(
      async () => {
        const r = await stream();
        return r.status === 200 ? r : undefined;
      },
      { message: "a slot freed by the closed stream" },
    );
    expect(again.status).toBe(200);
  });

  it("reports events per cluster and deliveries per server over the last minute", async () => {
    for (const name of ["prod", "quiet"]) {
      const res = await h.call("POST", "/api/v1/clusters", { name, kubeconfig: KUBECONFIG });
      expect(res.status).toBe(201);
    }
    for (const name of ["lb-1", "lb-2"]) {
      const res = await h.call("POST", "/api/v1/servers", { name, url: "http://127.0.0.1:9/x", snapshot: false });
      expect(res.status).toBe(201);
    }
    // What dispatchers count (delivery-recorder.ts): 6 delivered, 2 failed for lb-1.
    const bucket = rateBucket(Date.now());
    await h.redis.set(h.registry.keys.serverRate("lb-1", "ok", bucket), "6", "EX", 60);
    await h.redis.set(h.registry.keys.serverRate("lb-1", "failed", bucket - 1), "2", "EX", 60);
    await h.redis.set(h.registry.keys.serverRate("lb-1", "ok", bucket - 60 / RATE_BUCKET_SECONDS - 2), "99", "EX", 60);

    const res = await h.call("GET", "/api/v1/stats");
    expect(res.status).toBe(200);
    expect(res.body.windowSeconds).toBe(60);
    const prod = res.body.clusters.find((c: { name: string }) => c.name === "prod");
    expect(prod.events).toBeGreaterThanOrEqual(2); // published by the tests above
    expect(prod.eventsPerSecond).toBeGreaterThan(0);
    expect(res.body.clusters.find((c: { name: string }) => c.name === "quiet")).toEqual({
      name: "quiet",
      events: 0,
      eventsPerSecond: 0,
    });
    const lb1 = res.body.servers.find((s: { name: string }) => s.name === "lb-1");
    expect(lb1).toMatchObject({ delivered: 6, failed: 2, successRate: 0.75 });
    expect(lb1.deliveriesPerSecond).toBeGreaterThan(0);
    expect(res.body.servers.find((s: { name: string }) => s.name === "lb-2")).toEqual({
      name: "lb-2",
      delivered: 0,
      failed: 0,
      deliveriesPerSecond: 0,
      successRate: null,
    });
    expect((await h.call("GET", "/api/v1/stats?x=1")).status).toBe(400);
  });

  it("lists clusters with a status summary: the worst resource state and the last event", async () => {
    await h.call("POST", "/api/v1/clusters", {
      name: "multi",
      kubeconfig: KUBECONFIG,
      resources: ["ingresses", "services"],
    });
    await h.registry.setResourceStatus("multi", {
      resource: "networking.k8s.io/v1/ingresses",
      state: "watching",
      lastEventAt: "2026-01-01T00:00:02.000Z",
    });
    let list = await h.call("GET", "/api/v1/clusters");
    let multi = list.body.find((c: { name: string }) => c.name === "multi");
    expect(multi.status).toMatchObject({ state: "pending", lastEventAt: "2026-01-01T00:00:02.000Z" });
    expect(multi.status.resources).toHaveLength(2);
    await h.registry.setResourceStatus("multi", { resource: "v1/services", state: "error", message: "refused" });
    list = await h.call("GET", "/api/v1/clusters");
    multi = list.body.find((c: { name: string }) => c.name === "multi");
    expect(multi.status.state).toBe("error");
    await h.registry.setResourceStatus("multi", { resource: "v1/services", state: "watching" });
    const one = await h.call("GET", "/api/v1/clusters/multi");
    expect(one.body.status).toMatchObject({ state: "watching", lastEventAt: "2026-01-01T00:00:02.000Z" });
    expect(list.text).not.toContain("sekret");
  });

  it("ends open streams when the API closes, so a graceful stop does not wait on them", async () => {
    const other = await startHarness();
    try {
      const r = await openSse(`${other.base}/api/v1/events/stream`, { authorization: `Bearer ${other.token}` });
      await waitFor(() => r.comments.length > 0);
      other.api.close();
      await r.ended;
      const after = await other.call("GET", "/api/v1/events/stream");
      expect(after.status).toBe(503);
    } finally {
      await other.close();
    }
  });
});
