import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DispatcherPresence } from "./dispatcher-presence.js";
import { type RedisKeys, redisKeys } from "./keys.js";
import { redisReady } from "./redis.js";
import { startRedis, type TestServer } from "./testing/servers.js";
import { waitFor } from "./testing/wait-for.js";

let server: TestServer;
let redis: Redis;
let keys: RedisKeys;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  await redisReady(redis);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

beforeEach(() => {
  keys = redisKeys(`p${randomUUID().slice(0, 8)}`);
});

describe("DispatcherPresence", () => {
  it("counts live replicas and names those that have not applied a revision", async () => {
    const presence = new DispatcherPresence(redis, keys);
    expect(await presence.lagging(1)).toEqual([]);
    expect(await presence.beat("a")).toBe(1);
    expect(await presence.beat("b", 3)).toBe(2);
    // "a" has applied nothing yet; "b" is at 3.
    expect((await presence.lagging(3)).sort()).toEqual(["a"]);
    expect((await presence.lagging(4)).sort()).toEqual(["a", "b"]);
    await presence.applied("a", 4);
    expect(await presence.lagging(4)).toEqual(["b"]);
    await presence.leave("b");
    expect(await presence.lagging(4)).toEqual([]);
    expect(await redis.hkeys(keys.dispatchersApplied)).toEqual(["a"]);
  });

  it("waits for no replica whose heartbeat expired, and forgets it at the next beat of another", async () => {
    const presence = new DispatcherPresence(redis, keys, 1000);
    await presence.beat("crashed", 1);
    // "alive" keeps beating; "crashed" stops, and one of alive's beats prunes it once expired.
    await waitFor(
      async () => {
        await presence.beat("alive", 1);
        return (await redis.zrange(keys.dispatchers, 0, -1)).join() === "alive";
      },
      { message: "the crashed replica to be pruned", intervalMs: 50, timeoutMs: 5000 },
    );
    expect(await presence.lagging(2)).toEqual(["alive"]);
    expect(await redis.hkeys(keys.dispatchersApplied)).toEqual(["alive"]);
    // A replica that paused past the TTL and beats again is whole again, revision included.
    expect(await presence.beat("crashed", 2)).toBe(2);
    expect(await presence.lagging(2)).toEqual(["alive"]);
  });

  it("resolves with nobody lagging as soon as the last live replica applied the revision", async () => {
    const presence = new DispatcherPresence(redis, keys);
    await presence.beat("a", 6);
    await presence.beat("b", 6);
    const started = performance.now();
    setTimeout(() => void presence.applied("a", 7), 60);
    setTimeout(() => void presence.applied("b", 8), 120);
    expect(await presence.waitUntilApplied(7, 5000)).toEqual([]);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(110);
    expect(waited).toBeLessThan(3000);
  });

  it("gives up at the deadline and names who is still lagging", async () => {
    const presence = new DispatcherPresence(redis, keys);
    await presence.beat("stuck", 1);
    await presence.beat("quick", 2);
    const started = performance.now();
    expect(await presence.waitUntilApplied(2, 200)).toEqual(["stuck"]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
  });
});
