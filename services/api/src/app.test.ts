import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { Registry, SecretBox, createLogger } from "@mcic/core";
import { type TestServer, startRedis } from "@mcic/core/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "./app.js";

const KUBECONFIG = `
apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: c, user: u}
clusters:
- name: c
  cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: ${Buffer.from("CA").toString("base64")}}
users:
- name: u
  user: {token: sekret-kube-token}
`;

describe("api over HTTP", () => {
  let redisServer: TestServer;
  let redis: Redis;
  let base: string;
  let close: () => void;
  const logLines: string[] = [];
  const TOKEN = "t0ken-for-tests";

  beforeAll(async () => {
    redisServer = await startRedis();
    redis = new Redis(redisServer.url);
    const logger = createLogger({
      name: "api",
      level: "debug",
      destination: new Writable({
        write(chunk, _enc, cb) {
          logLines.push(chunk.toString());
          cb();
        },
      }),
    });
    const app = createApp({
      registry: new Registry({ redis, prefix: "t" }),
      box: new SecretBox(randomBytes(32)),
      logger,
      tokens: [TOKEN],
      checkReady: async () => {
        await redis.ping();
      },
    });
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(async () => {
    close();
    redis.disconnect();
    await redisServer.stop();
  });
  beforeEach(async () => {
    await redis.flushall();
  });

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get("content-type") ?? "",
      body: text ? JSON.parse(text) : undefined,
      headers: res.headers,
    };
  };
  const snapshot = async () => {
    const keys = (await redis.keys("*")).sort();
    return Promise.all(keys.map(async (k) => [k, await redis.dump(k)]));
  };

  it("creates, lists, gets, replaces and deletes a cluster without ever showing credentials", async () => {
    const created = await call("POST", "/api/v1/clusters", {
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
    const listed = await call("GET", "/api/v1/clusters");
    expect(listed.body.map((c: { name: string }) => c.name)).toEqual(["east"]);
    const got = await call("GET", "/api/v1/clusters/east");
    expect(got.body.status.resources).toEqual([
      { resource: "networking.k8s.io/v1/ingresses", state: "pending" },
      { resource: "v1/services", state: "pending" },
    ]);
    const replaced = await call("PUT", "/api/v1/clusters/east", {
      name: "east",
      server: "https://k.example:6443",
      token: "other-token",
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body.source).toBe("server");
    expect(replaced.body.createdAt).toBe(created.body.createdAt);

    const everything = JSON.stringify([created, listed, got, replaced].map((r) => r.body)) + logLines.join("");
    expect(everything).not.toContain("sekret-kube-token");
    expect(everything).not.toContain("other-token");
    expect(JSON.stringify(await redis.get("t:{cluster:east}:spec"))).not.toContain("other-token");

    expect((await call("DELETE", "/api/v1/clusters/east")).status).toBe(204);
    expect((await call("GET", "/api/v1/clusters/east")).status).toBe(404);
    expect(await redis.keys("*")).toEqual([]);
  });

  it("answers 409 for a duplicate cluster and 404 for unknown names", async () => {
    const body = { name: "dup", server: "https://k:6443" };
    expect((await call("POST", "/api/v1/clusters", body)).status).toBe(201);
    const again = await call("POST", "/api/v1/clusters", body);
    expect(again.status).toBe(409);
    expect(again.type).toContain("application/problem+json");
    expect((await call("DELETE", "/api/v1/clusters/nope")).status).toBe(404);
    expect((await call("PUT", "/api/v1/clusters/nope", { name: "nope", server: "https://k" })).status).toBe(404);
  });

  it("shows a generated server secret once, and keeps it on update", async () => {
    const created = await call("POST", "/api/v1/servers", {
      name: "lb",
      url: "http://lb.local/hook",
      headers: { "X-Api-Key": "hdr-secret" },
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    expect(created.body.headers).toEqual({ "X-Api-Key": "[redacted]" });
    const got = await call("GET", "/api/v1/servers/lb");
    expect(got.body.secret).toBeUndefined();
    expect(got.body.status).toEqual({ state: "active", deadLetters: 0 });
    const sealedBefore = JSON.parse((await redis.get("t:{server:lb}:spec")) as string).secret;
    const updated = await call("PUT", "/api/v1/servers/lb", { name: "lb", url: "http://lb2.local/hook" });
    expect(updated.status).toBe(200);
    expect(updated.body.secret).toBeUndefined();
    expect(JSON.parse((await redis.get("t:{server:lb}:spec")) as string).secret).toBe(sealedBefore);
    expect(JSON.stringify([got.body, updated.body]) + logLines.join("")).not.toContain("hdr-secret");
  });

  it.each([
    ["malformed JSON", "POST", "/api/v1/clusters", "{nope", 400, "(body)"],
    ["missing credentials", "POST", "/api/v1/clusters", { name: "a" }, 400, "kubeconfig"],
    [
      "both forms",
      "POST",
      "/api/v1/clusters",
      { name: "a", kubeconfig: KUBECONFIG, server: "https://x" },
      400,
      "server",
    ],
    ["bad name", "POST", "/api/v1/clusters", { name: "Bad_Name", server: "https://x" }, 400, "name"],
    ["unknown field", "POST", "/api/v1/clusters", { name: "a", server: "https://x", colour: "red" }, 400, "colour"],
    ["bad server URL", "POST", "/api/v1/clusters", { name: "a", server: "ftp://x" }, 400, "server"],
    [
      "exec plugin",
      "POST",
      "/api/v1/clusters",
      { name: "a", kubeconfig: KUBECONFIG.replace("{token: sekret-kube-token}", "{exec: {command: rm}}") },
      400,
      "kubeconfig",
    ],
    [
      "unknown context",
      "POST",
      "/api/v1/clusters",
      { name: "a", kubeconfig: KUBECONFIG, context: "nope" },
      400,
      "context",
    ],
    [
      "bad resource",
      "POST",
      "/api/v1/clusters",
      { name: "a", server: "https://x", resources: ["Widgets!"] },
      400,
      "resources.0",
    ],
    ["bad server url", "POST", "/api/v1/servers", { name: "s", url: "javascript:alert(1)" }, 400, "url"],
    ["bad secret", "POST", "/api/v1/servers", { name: "s", url: "http://x", secret: "hunter2" }, 400, "secret"],
    [
      "bad event type",
      "POST",
      "/api/v1/servers",
      { name: "s", url: "http://x", filters: { eventTypes: ["CREATED"] } },
      400,
      "filters.eventTypes.0",
    ],
    ["name mismatch on PUT", "PUT", "/api/v1/servers/s", { name: "t", url: "http://x" }, 400, "name"],
  ])(
    "rejects %s with a problem naming the field and stores nothing",
    async (_label, method, path, body, status, field) => {
      if (method === "PUT") await call("POST", "/api/v1/servers", { name: "s", url: "http://x" });
      const before = await snapshot();
      const res = await call(method, path, body);
      expect(res.status).toBe(status);
      expect(res.type).toContain("application/problem+json");
      expect(res.body).toMatchObject({
        status,
        title: expect.any(String),
        type: expect.stringMatching(/^urn:mcic:problem:/),
      });
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
      expect(await snapshot()).toEqual(before);
    },
  );

  it("answers 415 for non-JSON bodies, 413 past 1 MiB, and 401 without a valid token", async () => {
    expect((await call("POST", "/api/v1/clusters", "name=a", { "content-type": "text/plain" })).status).toBe(415);
    const huge = JSON.stringify({ name: "a", server: "https://x", labelSelector: "x".repeat(1024 * 1024) });
    expect((await call("POST", "/api/v1/clusters", huge)).status).toBe(413);
    const unauth = await call("GET", "/api/v1/clusters", undefined, { authorization: "Bearer wrong" });
    expect(unauth.status).toBe(401);
    expect(unauth.type).toContain("application/problem+json");
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await redis.keys("*")).toEqual([]);
  });
});
