import { request } from "node:http";
import { ReplyError } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Harness, KUBECONFIG, startHarness } from "./test-harness.js";

describe("api over HTTP", () => {
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

  it("creates, lists, gets, replaces and deletes a cluster without ever showing credentials", async () => {
    const created = await h.call("POST", "/api/v1/clusters", {
      name: "east",
      kubeconfig: KUBECONFIG,
      resources: ["ingresses", "services"],
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/api/v1/clusters/east");
    expect(created.body).toMatchObject({
      name: "east",
      resources: ["networking.k8s.io/v1/ingresses", "v1/services"],
      source: "kubeconfig",
      credentials: "stored",
    });
    const listed = await h.call("GET", "/api/v1/clusters");
    expect(listed.body.map((c: { name: string }) => c.name)).toEqual(["east"]);
    const got = await h.call("GET", "/api/v1/clusters/east");
    expect(got.body.status.resources).toEqual([
      { resource: "networking.k8s.io/v1/ingresses", state: "pending" },
      { resource: "v1/services", state: "pending" },
    ]);
    const replaced = await h.call("PUT", "/api/v1/clusters/east", {
      name: "east",
      server: "https://k.example:6443",
      token: "other-token",
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body.source).toBe("server");
    expect(replaced.body.createdAt).toBe(created.body.createdAt);
    expect(JSON.stringify(await h.redis.get("t:{cluster:east}:spec"))).not.toContain("other-token");

    expect((await h.call("DELETE", "/api/v1/clusters/east")).status).toBe(204);
    expect((await h.call("GET", "/api/v1/clusters/east")).status).toBe(404);
    // Only the count of cluster writes is left: it never goes back.
    expect(await h.redis.keys("*")).toEqual(["t:clusters:revision"]);
  });

  it("answers 409 for a duplicate cluster and 404 for unknown names", async () => {
    const body = { name: "dup", server: "https://k:6443" };
    expect((await h.call("POST", "/api/v1/clusters", body)).status).toBe(201);
    const again = await h.call("POST", "/api/v1/clusters", body);
    expect(again.status).toBe(409);
    expect(again.type).toContain("application/problem+json");
    expect((await h.call("DELETE", "/api/v1/clusters/nope")).status).toBe(404);
    expect((await h.call("PUT", "/api/v1/clusters/nope", { name: "nope", server: "https://k" })).status).toBe(404);
  });

  it("shows a generated server secret once, and keeps it on update", async () => {
    const created = await h.call("POST", "/api/v1/servers", {
      name: "lb",
      url: "http://lb.local/hook",
      headers: { "X-Api-Key": "hdr-secret" },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/api/v1/servers/lb");
    expect(created.body.secret).toMatch(/^whsec_/);
    expect(created.body.headers).toEqual({ "X-Api-Key": "[redacted]" });
    const got = await h.call("GET", "/api/v1/servers/lb");
    expect(got.body.secret).toBeUndefined();
    // Registered with snapshot (the default): its status shows that snapshot (no cluster here).
    expect(got.body.status).toEqual({
      state: "active",
      deadLetters: 0,
      snapshot: { requestId: expect.any(String), requestedAt: expect.any(String), clusters: [] },
    });
    const sealedBefore = JSON.parse((await h.redis.get("t:{server:lb}:spec")) as string).secret;
    const updated = await h.call("PUT", "/api/v1/servers/lb", { name: "lb", url: "http://lb2.local/hook" });
    expect(updated.status).toBe(200);
    expect(updated.body.secret).toBeUndefined();
    expect(JSON.parse((await h.redis.get("t:{server:lb}:spec")) as string).secret).toBe(sealedBefore);
  });

  it("shows the status the dispatchers write, and re-enables a server disabled by a 410 on PUT", async () => {
    await h.call("POST", "/api/v1/servers", { name: "gone", url: "http://gone.local/", snapshot: false });
    await h.redis.hset("t:{server:gone}:status", {
      disabledReason: "answered 410 Gone",
      lastSuccessAt: "2026-01-01T00:00:00.000Z",
      lastFailureAt: "2026-01-02T00:00:00.000Z",
      deadLetters: "3",
      pending: "2",
    });
    const got = await h.call("GET", "/api/v1/servers/gone");
    expect(got.body.status).toEqual({
      state: "disabled",
      reason: "answered 410 Gone",
      lastSuccessAt: "2026-01-01T00:00:00.000Z",
      lastFailureAt: "2026-01-02T00:00:00.000Z",
      deadLetters: 3,
      pending: 2,
    });
    const notices: string[] = [];
    const sub = h.redis.duplicate();
    await sub.subscribe("t:changed");
    sub.on("message", (_c, m) => notices.push(m));
    expect((await h.call("PUT", "/api/v1/servers/gone", { name: "gone", url: "http://back.local/" })).status).toBe(200);
    expect(await h.redis.hget("t:{server:gone}:status", "disabledReason")).toBeNull();
    expect(await h.redis.hget("t:{server:gone}:status", "deadLetters")).toBe("3");
    expect((await h.call("GET", "/api/v1/servers/gone")).body.status.state).toBe("active");
    await expect.poll(() => notices).toEqual([JSON.stringify({ kind: "server", name: "gone", op: "updated" })]);
    sub.disconnect();

    // enabled: false is a disabled state of its own, with its reason.
    await h.call("PUT", "/api/v1/servers/gone", { name: "gone", url: "http://back.local/", enabled: false });
    expect((await h.call("GET", "/api/v1/servers/gone")).body.status).toMatchObject({
      state: "disabled",
      reason: "disabled by configuration",
    });
  });

  it("answers 503 with Retry-After while Redis fails over, and 500 (details hidden) for a bug", async () => {
    const listServers = h.registry.listServers;
    try {
      h.registry.listServers = async () => {
        throw new ReplyError("READONLY You can't write against a read only replica.");
      };
      const failingOver = await h.call("GET", "/api/v1/servers");
      expect(failingOver.status).toBe(503);
      expect(failingOver.headers.get("retry-after")).toBe("1");
      expect(failingOver.body.type).toBe("urn:mcic:problem:redis_unavailable");
      h.registry.listServers = async () => {
        throw new TypeError("x is undefined");
      };
      const bug = await h.call("GET", "/api/v1/servers");
      expect(bug.status).toBe(500);
      expect(bug.text).not.toContain("x is undefined");
    } finally {
      h.registry.listServers = listServers;
    }
  });

  it("answers unknown routes 404 and wrong methods 405 as problem+json", async () => {
    const missing = await h.call("GET", "/api/v1/nothing");
    expect(missing.status).toBe(404);
    expect(missing.type).toContain("application/problem+json");
    expect(missing.body).toMatchObject({ type: "urn:mcic:problem:route_not_found", status: 404, title: "Not Found" });
    const wrong = await h.call("PATCH", "/api/v1/clusters");
    expect(wrong.status).toBe(405);
    expect(wrong.type).toContain("application/problem+json");
    expect(wrong.headers.get("allow")).toContain("POST");
    expect(wrong.body).toMatchObject({ type: "urn:mcic:problem:method_not_allowed", status: 405 });
    expect(wrong.body.detail).toContain("GET");
  });

  it("with API_TOKENS set, serves any Host (it may sit behind a load balancer or an ingress)", async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const url = new URL(h.base);
      request(
        {
          hostname: url.hostname,
          port: url.port,
          path: "/api/v1/clusters",
          headers: { host: "mcic.example", authorization: `Bearer ${h.token}` },
        },
        (r) => resolve(r.resume().statusCode ?? 0),
      )
        .on("error", reject)
        .end();
    });
    expect(res).toBe(200);
  });

  it("serves health without a token, and metrics only with one, labelled by route pattern", async () => {
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.base}/readyz`)).status).toBe(200);
    expect((await fetch(`${h.base}/metrics`)).status).toBe(401);
    await h.call("GET", "/api/v1/servers/some-name");
    await h.call("GET", "/api/v1/servers/other-name");
    await h.call("GET", "/no/such/route");
    const metrics = await h.call("GET", "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.type).toContain("text/plain");
    expect(metrics.text).toMatch(
      /mcic_api_requests_total\{route="\/api\/v1\/servers\/:name",method="GET",status="404",service="api"\} 2/,
    );
    expect(metrics.text).toMatch(/mcic_api_requests_total\{route="unmatched",method="GET",status="404"/);
    expect(metrics.text).toMatch(/mcic_api_requests_total\{route="\/metrics",method="GET",status="401"/);
    expect(metrics.text).toMatch(/mcic_api_request_duration_seconds_count\{[^}]*route="\/healthz",method="GET"\} 1/);
    expect(metrics.text).not.toContain("some-name");
  });
});
