import { redisKeys } from "@mcic/core";
import { type TestServer, startRedis } from "@mcic/core/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LeaseTable } from "./lease-table.js";

describe("LeaseTable", () => {
  let server: TestServer;
  let redis: Redis;
  let clock = 1_000_000;
  const keys = redisKeys("t");
  const table = (id: string, ttlMs = 60_000) => new LeaseTable({ redis, keys, watcherId: id, ttlMs, now: () => clock });

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });
  beforeEach(async () => {
    await redis.flushall();
  });

  it("gives a cluster to one replica at a time", async () => {
    const a = table("a");
    const b = table("b");
    expect(await a.acquire("c1")).toBe(true);
    expect(await b.acquire("c1")).toBe(false);
    expect(await a.holder("c1")).toBe("a");
    expect(a.holds("c1")).toBe(true);
    expect(b.holds("c1")).toBe(false);
    expect(await b.renew("c1")).toBe(false);
    await b.release("c1");
    expect(await a.holder("c1")).toBe("a");
    await a.release("c1");
    expect(await b.acquire("c1")).toBe(true);
  });

  it("fences a replica whose lease ran out locally, and refuses its renewal once taken", async () => {
    const a = table("a", 100);
    expect(await a.acquire("c1")).toBe(true);
    clock += 101;
    expect(a.holds("c1")).toBe(false);
    await redis.set(keys.clusterLease("c1"), "b");
    expect(await a.renew("c1")).toBe(false);
    expect(a.holds("c1")).toBe(false);
  });

  it("lists live replicas and drops silent or departed ones", async () => {
    const a = table("a", 1000);
    const b = table("b", 1000);
    await a.heartbeat();
    expect((await b.heartbeat()).sort()).toEqual(["a", "b"]);
    clock += 1500;
    expect(await b.heartbeat()).toEqual(["b"]);
    await a.heartbeat();
    await a.leave();
    expect(await b.heartbeat()).toEqual(["b"]);
  });
});
