import { createCipheriv, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import {
  Redis,
  Registry,
  SecretBox,
  type StoredCluster,
  type StoredServer,
  createLogger,
  generateWebhookSecret,
  sealContext,
} from "@mcic/core";
import { type TestServer, startRedis } from "@mcic/core/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { resealRegistry } from "./reseal-registry.js";

const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const oldBox = new SecretBox(oldKey);
/** What the re-seal step runs with: the new key, the old one still opening. */
const rotating = new SecretBox(newKey, oldKey);
/** What services run with once the rotation is over. */
const newOnly = new SecretBox(newKey);

const AT = "2024-05-01T12:00:00.000Z";

function cluster(name: string, box: SecretBox): StoredCluster {
  const credentials = JSON.stringify({ server: "https://10.0.0.1:6443", token: `token-${name}` });
  return {
    name,
    resources: ["networking.k8s.io/v1/ingresses"],
    source: "server",
    credentials: box.seal(credentials, sealContext.clusterCredentials(name)),
    createdAt: AT,
    updatedAt: AT,
  };
}

function server(name: string, box: SecretBox, previous?: string): StoredServer {
  return {
    name,
    url: "https://lb.example.com/hook",
    filters: {},
    headers: box.seal(JSON.stringify({ "X-Api-Key": `key-${name}` }), sealContext.serverHeaders(name)),
    secret: box.seal(`secret-${name}`, sealContext.serverSecret(name)),
    ...(previous
      ? {
          previousSecret: box.seal(previous, sealContext.serverPreviousSecret(name)),
          previousExpiresAt: "2024-05-02T12:00:00.000Z",
        }
      : {}),
    includeSecretData: false,
    snapshot: true,
    enabled: true,
    payload: "full",
    includeManagedFields: false,
    disableAfterSeconds: 432_000,
    retry: {},
    createdAt: AT,
    updatedAt: AT,
  };
}

describe("resealRegistry: the MCIC_SECRET_KEY re-seal step", () => {
  let redisServer: TestServer;
  let redis: Redis;
  let registry: Registry;
  const logLines: string[] = [];
  const logger = createLogger({
    name: "reseal",
    destination: new Writable({
      write(chunk, _enc, cb) {
        logLines.push(chunk.toString());
        cb();
      },
    }),
  });

  beforeAll(async () => {
    redisServer = await startRedis();
    redis = new Redis(redisServer.url);
    registry = new Registry({ redis, prefix: "rs" });
  });
  afterAll(async () => {
    redis?.disconnect();
    await redisServer?.stop();
  });
  beforeEach(async () => {
    await redis.flushall();
    logLines.length = 0;
  });

  const opensWithNewKeyAlone = (s: StoredServer) => ({
    secret: newOnly.open(s.secret, sealContext.serverSecret(s.name)),
    headers: newOnly.open(s.headers, sealContext.serverHeaders(s.name)),
    previous: s.previousSecret && newOnly.open(s.previousSecret, sealContext.serverPreviousSecret(s.name)),
  });

  it("re-seals every credential, secret, header set and previous secret under the new key, once", async () => {
    await registry.createCluster(cluster("east", oldBox));
    await registry.createCluster(cluster("west", oldBox));
    await registry.createServer(server("lb-1", oldBox, "old-secret-lb-1"));
    await registry.createServer(server("lb-2", oldBox));
    const already = server("lb-3", newOnly);
    await registry.createServer(already);

    expect(await resealRegistry(registry, rotating, logger)).toEqual({
      clusters: { resealed: 2, current: 0, failed: 0 },
      servers: { resealed: 2, current: 1, failed: 0 },
    });

    for (const c of await registry.listClusters()) {
      expect(JSON.parse(newOnly.open(c.credentials, sealContext.clusterCredentials(c.name)))).toEqual({
        server: "https://10.0.0.1:6443",
        token: `token-${c.name}`,
      });
      // Nothing a user registered changed: watchers keep their watches.
      expect(c.updatedAt).toBe(AT);
    }
    const servers = await registry.listServers();
    expect(servers.map(opensWithNewKeyAlone)).toEqual([
      { secret: "secret-lb-1", headers: '{"X-Api-Key":"key-lb-1"}', previous: "old-secret-lb-1" },
      { secret: "secret-lb-2", headers: '{"X-Api-Key":"key-lb-2"}', previous: undefined },
      { secret: "secret-lb-3", headers: '{"X-Api-Key":"key-lb-3"}', previous: undefined },
    ]);
    expect(servers[0]?.previousExpiresAt).toBe("2024-05-02T12:00:00.000Z");
    expect(servers[2]).toEqual(already);

    // Idempotent: the second run finds everything current and writes nothing.
    const before = await redis.mget((await redis.keys("rs:*")).sort());
    expect(await resealRegistry(registry, rotating, logger)).toEqual({
      clusters: { resealed: 0, current: 2, failed: 0 },
      servers: { resealed: 0, current: 3, failed: 0 },
    });
    expect(await redis.mget((await redis.keys("rs:*")).sort())).toEqual(before);
  });

  it("counts and logs a record neither key opens, leaves it as it is, and re-seals the rest", async () => {
    const stranger = server("lb-x", new SecretBox(randomBytes(32)));
    await registry.createServer(stranger);
    await registry.createServer(server("lb-1", oldBox));
    expect(await resealRegistry(registry, rotating, logger)).toEqual({
      clusters: { resealed: 0, current: 0, failed: 0 },
      servers: { resealed: 1, current: 0, failed: 1 },
    });
    expect(await registry.getServer("lb-x")).toEqual(stranger);
    expect(opensWithNewKeyAlone((await registry.getServer("lb-1")) as StoredServer).secret).toBe("secret-lb-1");
    const logged = logLines.map((l) => JSON.parse(l));
    expect(logged).toContainEqual(
      expect.objectContaining({ msg: "cannot re-seal record; left as it is", kind: "server", name: "lb-x" }),
    );
    expect(logLines.join("")).not.toContain("secret-lb");
  });

  it("re-seals values from before context binding (v1) as v2", async () => {
    // A v1 value: the same AES-GCM layout without associated data.
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", oldKey, iv);
    const body = Buffer.concat([cipher.update(generateWebhookSecret(), "utf8"), cipher.final()]);
    const legacy = `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
    await registry.createServer({ ...server("lb-1", oldBox), secret: legacy });
    expect((await resealRegistry(registry, rotating, logger)).servers.resealed).toBe(1);
    const stored = (await registry.getServer("lb-1")) as StoredServer;
    expect(stored.secret.startsWith("v2:")).toBe(true);
    expect(newOnly.isCurrent(stored.secret, sealContext.serverSecret("lb-1"))).toBe(true);
  });
});
