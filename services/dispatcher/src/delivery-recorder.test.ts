import { connectRedis, createLogger, parseRedisUrl, readDeliveryRates, redisKeys } from "@mcic/core";
import { type TestServer, startRedis, waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveredVersions, isNewer } from "./delivered-versions.js";
import { DeliveryRecorder } from "./delivery-recorder.js";

describe("DeliveryRecorder when a Redis write fails", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("tells the caller of a dead letter (so it is not lost) and writes the attempt log later", async () => {
    const redis = connectRedis(parseRedisUrl(server.url), "recorder-test");
    redis.on("error", () => undefined); // the kill below makes it complain; the service logs these
    const keys = redisKeys("t");
    const recorder = new DeliveryRecorder({ redis, keys, logger: createLogger({ name: "test", level: "silent" }) });
    try {
      const at = new Date().toISOString();
      const record = { eventId: "e1", attempt: 1, status: 500, outcome: "dead-lettered" as const, durationMs: 1, at };
      await server.kill();
      recorder.record("rx", record);
      recorder.deadLetter("rx", {
        id: "d1",
        eventId: "e1",
        status: 500,
        error: "HTTP 500",
        attempts: 1,
        at,
        envelope: {} as never,
      });
      await expect(recorder.flush()).rejects.toThrow(/Redis write failed/);

      await server.restart();
      // The log entry comes with the next write; the dead letter is its caller's to redo (the
      // message it came from was not acknowledged).
      await waitFor(async () => (await redis.llen(keys.deliveries("rx"))) === 1, { timeoutMs: 10_000 });
      expect(await redis.llen(keys.deadLetters("rx"))).toBe(0);
      // The failed write's attempt still counts towards the server's rate, once.
      const rates = await readDeliveryRates(redis, keys, ["rx"], Date.now());
      expect(rates.get("rx")).toMatchObject({ delivered: 0, failed: 1 });
    } finally {
      redis.disconnect();
    }
  }, 30_000);
});

describe("DeliveryRecorder delivery rates", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("counts delivered and failed attempts per server for the last minute, not superseded ones", async () => {
    const redis = connectRedis(parseRedisUrl(server.url), "recorder-rate-test");
    const keys = redisKeys("r");
    const recorder = new DeliveryRecorder({ redis, keys, logger: createLogger({ name: "test", level: "silent" }) });
    try {
      const at = new Date().toISOString();
      const attempt = (outcome: "delivered" | "retrying" | "superseded" | "dead-lettered") => ({
        eventId: "e",
        attempt: 1,
        status: outcome === "delivered" ? 200 : 503,
        outcome,
        durationMs: 1,
        at,
      });
      for (let i = 0; i < 3; i++) recorder.record("a", attempt("delivered"));
      recorder.record("a", attempt("retrying"));
      recorder.record("a", attempt("superseded"));
      recorder.record("b", attempt("dead-lettered"));
      await recorder.flush();
      const rates = await readDeliveryRates(redis, keys, ["a", "b", "unknown"], Date.now());
      expect(rates.get("a")).toMatchObject({ delivered: 3, failed: 1 });
      expect(rates.get("b")).toMatchObject({ delivered: 0, failed: 1 });
      expect(rates.get("unknown")).toMatchObject({ delivered: 0, failed: 0 });
      // Counters expire on their own: nothing grows without bound.
      const ttls = await Promise.all((await redis.keys("r:*:rate:*")).map((k) => redis.ttl(k)));
      expect(ttls.length).toBeGreaterThan(0);
      for (const ttl of ttls) expect(ttl).toBeGreaterThan(0);
      // A minute and more later, they are out of the window.
      const later = await readDeliveryRates(redis, keys, ["a"], Date.now() + 70_000);
      expect(later.get("a")).toMatchObject({ delivered: 0, failed: 0 });
    } finally {
      redis.disconnect();
    }
  }, 30_000);
});

describe("DeliveryRecorder bookkeeping for replays and the failure window", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("remembers the newest version each object reached the server, never lowering it, and a success ends the failure window", async () => {
    const redis = connectRedis(parseRedisUrl(server.url), "recorder-test");
    const keys = redisKeys("v");
    const recorder = new DeliveryRecorder({ redis, keys, logger: createLogger({ name: "test", level: "silent" }) });
    const versions = new DeliveredVersions(redis, keys);
    try {
      await redis.hset(keys.serverStatus("rx"), "failingSince", "2026-01-01T00:00:00.000Z");
      recorder.delivered("rx", "u1", "10");
      recorder.delivered("rx", "u1", "9"); // a late answer of an older version
      recorder.delivered("rx", "u2", "5");
      await recorder.flush();
      expect(await redis.get(keys.serverDelivered("rx", "u1"))).toBe("10");
      expect(await redis.ttl(keys.serverDelivered("rx", "u1"))).toBeGreaterThan(29 * 24 * 3600);
      // Another replica's older write does not lower it.
      recorder.delivered("rx", "u1", "8");
      await recorder.flush();
      expect(await redis.get(keys.serverDelivered("rx", "u1"))).toBe("10");
      expect(await versions.newerThan("rx", "u1", "9")).toBe("10");
      expect(await versions.newerThan("rx", "u1", "10")).toBeUndefined();
      expect(await versions.newerThan("rx", "u1", "11")).toBeUndefined();
      expect(await versions.newerThan("rx", "u3", "1")).toBeUndefined();
      // Still failing: nothing delivered was recorded, the window runs on.
      expect(await redis.hget(keys.serverStatus("rx"), "failingSince")).toBe("2026-01-01T00:00:00.000Z");
      const at = new Date().toISOString();
      recorder.record("rx", { eventId: "e", attempt: 1, status: 200, outcome: "delivered", durationMs: 1, at });
      await recorder.flush();
      expect(await redis.hget(keys.serverStatus("rx"), "failingSince")).toBeNull();
      expect(await redis.hget(keys.serverStatus("rx"), "lastSuccessAt")).toBe(at);
    } finally {
      redis.disconnect();
    }
  });

  it("orders only integer resourceVersions", () => {
    expect(isNewer("10", "9")).toBe(true);
    expect(isNewer("9", "10")).toBe(false);
    expect(isNewer("123456789012345678901", "123456789012345678900")).toBe(true);
    expect(isNewer("b", "a")).toBe(false);
    expect(isNewer("10", "a")).toBe(false);
  });
});
