import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, KUBECONFIG, startHarness } from "./test-harness.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MERGE = { "content-type": "application/merge-patch+json" };

describe("PATCH /servers/{name} and /clusters/{name} (JSON Merge Patch)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  const spec = async (key: string) => JSON.parse((await h.redis.get(key)) as string);
  const patch = (path: string, body: unknown, headers: Record<string, string> = MERGE) =>
    h.call("PATCH", path, body, headers);

  it("changes the fields a server patch gives and keeps every other one, the secret and headers included", async () => {
    const created = await h.call("POST", "/api/v1/servers", {
      name: "keep",
      url: "http://10.0.0.9:8080/a",
      filters: { namespaces: ["shop"], labelSelector: "app=web" },
      headers: { "X-Api-Key": "hdr-secret", "X-Other": "o" },
      secret: SECRET,
      retry: { maxAttempts: 3 },
      snapshot: false,
    });
    expect(created.status).toBe(201);
    const before = await spec("t:{server:keep}:spec");

    const moved = await patch("/api/v1/servers/keep", { url: "http://10.0.0.10:8080/b", rateLimit: { perSecond: 20 } });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({
      url: "http://10.0.0.10:8080/b",
      filters: { namespaces: ["shop"], labelSelector: "app=web" },
      headers: { "X-Api-Key": "[redacted]", "X-Other": "[redacted]" },
      retry: { maxAttempts: 3 },
      snapshot: false,
      rateLimit: { perSecond: 20 },
      createdAt: before.createdAt,
    });
    expect(moved.body.secret).toBeUndefined();
    expect(moved.text).not.toContain("hdr-secret");
    const after = await spec("t:{server:keep}:spec");
    expect(after.secret).toBe(before.secret);

    // null removes: a filter, a header, the rate limit; objects merge key by key.
    const removed = await patch("/api/v1/servers/keep", {
      filters: { labelSelector: null, eventTypes: ["ADDED"] },
      headers: { "X-Other": null },
      rateLimit: null,
    });
    expect(removed.status).toBe(200);
    expect(removed.body.filters).toEqual({ namespaces: ["shop"], eventTypes: ["ADDED"] });
    expect(removed.body.headers).toEqual({ "X-Api-Key": "[redacted]" });
    expect(removed.body.rateLimit).toBeUndefined();

    // A removed field with a default takes it, as in a PUT without it.
    expect((await patch("/api/v1/servers/keep", { retry: null })).body.retry).toEqual({});

    // A new secret given replaces the old; null keeps it.
    const kept = (await spec("t:{server:keep}:spec")).secret;
    expect((await patch("/api/v1/servers/keep", { secret: null })).status).toBe(200);
    expect((await spec("t:{server:keep}:spec")).secret).toBe(kept);
    const rotated = await patch("/api/v1/servers/keep", { secret: "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY" });
    expect(rotated.status).toBe(200);
    expect(rotated.text).not.toContain("whsec_");
    expect((await spec("t:{server:keep}:spec")).secret).not.toBe(kept);
  });

  it("takes application/merge-patch+json and application/json, and refuses other media types with 415", async () => {
    await h.call("POST", "/api/v1/servers", { name: "media", url: "http://10.0.0.9:8080/" });
    expect((await patch("/api/v1/servers/media", { payload: "metadata" })).status).toBe(200);
    expect(
      (await patch("/api/v1/servers/media", { payload: "full" }, { "content-type": "application/json" })).status,
    ).toBe(200);
    const before = await h.snapshot();
    for (const type of ["text/plain", "application/json-patch+json", "application/x-www-form-urlencoded"]) {
      const res = await patch("/api/v1/servers/media", { payload: "metadata" }, { "content-type": type });
      expect(res.status, type).toBe(415);
      expect(res.type).toContain("application/problem+json");
      expect(res.body.detail).toContain("application/merge-patch+json");
    }
    expect(await h.snapshot()).toEqual(before);
  });

  it("answers a bad server patch 400 naming the field, and changes nothing", async () => {
    await h.call("POST", "/api/v1/servers", {
      name: "strict",
      url: "http://10.0.0.9:8080/",
      rateLimit: { perSecond: 5 },
    });
    const before = await h.snapshot();
    const cases: [unknown, string][] = [
      [{ nope: 1 }, "nope"],
      [{ filters: { nope: 1 } }, "filters.nope"],
      [{ url: "ftp://10.0.0.9/" }, "url"],
      [{ url: "http://169.254.169.254/latest" }, "url"],
      [{ url: null }, "url"],
      [{ name: "other" }, "name"],
      [{ name: null }, "name"],
      [{ rateLimit: { perSecond: 0 } }, "rateLimit.perSecond"],
      [{ rateLimit: { perSecond: -3 } }, "rateLimit.perSecond"],
      [{ rateLimit: { burst: 0 } }, "rateLimit.burst"],
      [{ rateLimit: { perSecond: "fast" } }, "rateLimit.perSecond"],
      [{ disableAfterSeconds: 59 }, "disableAfterSeconds"],
      [{ disableAfterSeconds: 0 }, "disableAfterSeconds"],
      [{ headers: { "Content-Type": "text/plain" } }, "headers.Content-Type"],
      [{ headers: JSON.parse('{"__proto__": "x"}') }, "headers.__proto__"],
      [JSON.parse('{"__proto__": {"enabled": false}}'), "__proto__"],
      [{ enabled: "yes" }, "enabled"],
      [[], "(body)"],
      [[{ op: "replace", path: "/url", value: "http://x/" }], "(body)"],
      ["text", "(body)"],
      [42, "(body)"],
    ];
    for (const [body, path] of cases) {
      const res = await patch("/api/v1/servers/strict", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.type).toContain("application/problem+json");
      expect(
        res.body.errors.map((e: { path: string }) => e.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    // `null` is the one JSON text a merge patch that clears everything would be.
    expect((await patch("/api/v1/servers/strict", "null")).status).toBe(400);
    expect((await patch("/api/v1/servers/strict", "{oops")).status).toBe(400);
    expect((await patch("/api/v1/servers/missing", { enabled: true })).status).toBe(404);
    expect(await h.snapshot()).toEqual(before);
  });

  it("enables a server a dispatcher disabled only when the patch sets enabled: true, and shows the notice until then", async () => {
    await h.call("POST", "/api/v1/servers", { name: "off", url: "http://10.0.0.9:8080/", snapshot: false });
    const reason = "failing since 2026-01-01T00:00:00.000Z: HTTP 503";
    await h.redis.hset("t:{server:off}:status", {
      disabledReason: reason,
      disabledAt: "2026-01-06T00:00:00.000Z",
      failingSince: "2026-01-01T00:00:00.000Z",
      lastFailureAt: "2026-01-06T00:00:00.000Z",
      deadLetters: "2",
    });
    const got = await h.call("GET", "/api/v1/servers/off");
    expect(got.body.status).toEqual({
      state: "disabled",
      reason,
      disabledAt: "2026-01-06T00:00:00.000Z",
      failingSince: "2026-01-01T00:00:00.000Z",
      notices: [{ type: "dev.mcic.server.disabled", at: "2026-01-06T00:00:00.000Z", reason }],
      lastFailureAt: "2026-01-06T00:00:00.000Z",
      deadLetters: 2,
    });
    // A patch of something else leaves it disabled.
    expect((await patch("/api/v1/servers/off", { url: "http://10.0.0.11:8080/" })).status).toBe(200);
    expect((await h.call("GET", "/api/v1/servers/off")).body.status.state).toBe("disabled");
    // Resync refuses a disabled server and says how to enable it.
    const resync = await h.call("POST", "/api/v1/servers/off/resync");
    expect(resync.status).toBe(409);
    expect(resync.body.detail).toContain('PATCH {"enabled": true}');

    expect((await patch("/api/v1/servers/off", { enabled: true })).status).toBe(200);
    const back = await h.call("GET", "/api/v1/servers/off");
    expect(back.body.status).toEqual({
      state: "active",
      lastFailureAt: "2026-01-06T00:00:00.000Z",
      deadLetters: 2,
    });
    expect(await h.redis.hgetall("t:{server:off}:status")).not.toHaveProperty("failingSince");

    // enabled: false disables by configuration; enabled: true afterwards enables again.
    expect((await patch("/api/v1/servers/off", { enabled: false })).body.enabled).toBe(false);
    expect((await h.call("GET", "/api/v1/servers/off")).body.status).toMatchObject({
      state: "disabled",
      reason: "disabled by configuration",
    });
    expect((await h.call("GET", "/api/v1/servers/off")).body.status.notices).toBeUndefined();
    await patch("/api/v1/servers/off", { enabled: true });
    expect((await h.call("GET", "/api/v1/servers/off")).body.status.state).toBe("active");
  });

  it("patches a cluster's watch settings and keeps its credentials unless the patch gives a new connection", async () => {
    const tokenCluster = {
      name: "tok",
      server: "https://10.0.0.5:6443",
      token: "first-token",
      namespaces: ["a", "b"],
      labelSelector: "app=web",
    };
    expect((await h.call("POST", "/api/v1/clusters", tokenCluster)).status).toBe(201);
    const before = await spec("t:{cluster:tok}:spec");

    const res = await patch("/api/v1/clusters/tok", { resources: ["ingresses", "services"], labelSelector: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: "tok",
      resources: ["networking.k8s.io/v1/ingresses", "v1/services"],
      namespaces: ["a", "b"],
      source: "server",
      credentials: "stored",
      createdAt: before.createdAt,
      updatedAt: expect.any(String),
    });
    expect((await spec("t:{cluster:tok}:spec")).credentials).toBe(before.credentials);
    expect((await patch("/api/v1/clusters/tok", { namespaces: null })).body.namespaces).toBeUndefined();
    expect((await spec("t:{cluster:tok}:spec")).credentials).toBe(before.credentials);

    // A new connection replaces the credentials; the settings stay.
    const moved = await patch("/api/v1/clusters/tok", { server: "https://10.0.0.6:6443", token: "second-token" });
    expect(moved.status).toBe(200);
    expect(moved.text).not.toContain("second-token");
    expect(moved.body.resources).toEqual(["networking.k8s.io/v1/ingresses", "v1/services"]);
    expect((await spec("t:{cluster:tok}:spec")).credentials).not.toBe(before.credentials);

    // A kubeconfig cluster keeps its kubeconfig credentials and context.
    expect(
      (await h.call("POST", "/api/v1/clusters", { name: "kc", kubeconfig: KUBECONFIG, context: "certs" })).status,
    ).toBe(201);
    const kc = await spec("t:{cluster:kc}:spec");
    const kept = await patch("/api/v1/clusters/kc", { namespaces: ["shop"] }, { "content-type": "application/json" });
    expect(kept.body).toMatchObject({ source: "kubeconfig", context: "certs", namespaces: ["shop"] });
    expect((await spec("t:{cluster:kc}:spec")).credentials).toBe(kc.credentials);
  });

  it("answers a bad cluster patch 400 naming the field, and changes nothing", async () => {
    await h.call("POST", "/api/v1/clusters", { name: "strict", server: "https://10.0.0.5:6443", token: "tok-en" });
    const before = await h.snapshot();
    const cases: [unknown, string][] = [
      [{ nope: 1 }, "nope"],
      [{ resources: [] }, "resources"],
      [{ resources: null, namespaces: ["Bad_NS"] }, "namespaces.0"],
      [{ labelSelector: "a in" }, "labelSelector"],
      [{ name: "other" }, "name"],
      // A connection field alone is not a whole connection.
      [{ token: "new" }, "kubeconfig"],
      [{ context: "certs" }, "kubeconfig"],
      [{ server: "http://169.254.169.254/" }, "server"],
      [{ server: "https://10.0.0.5:6443", kubeconfig: KUBECONFIG }, "server"],
      [{ kubeconfig: "not: [yaml" }, "kubeconfig"],
      [[], "(body)"],
      ["x", "(body)"],
    ];
    for (const [body, path] of cases) {
      const res = await patch("/api/v1/clusters/strict", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(
        res.body.errors.map((e: { path: string }) => e.path),
        JSON.stringify(body),
      ).toContain(path);
      expect(res.text).not.toContain("tok-en");
    }
    expect(
      (await patch("/api/v1/clusters/strict", { resources: ["x"] }, { "content-type": "text/plain" })).status,
    ).toBe(415);
    expect((await patch("/api/v1/clusters/none", { resources: ["services"] })).status).toBe(404);
    expect(await h.snapshot()).toEqual(before);
  });
});
