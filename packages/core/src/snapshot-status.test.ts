import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CorruptDataError } from "./errors.js";
import { redisKeys } from "./keys.js";
import { Redis } from "./redis.js";
import { SnapshotStatusStore, parseSnapshotStatus } from "./snapshot-status.js";
import { type TestServer, startRedis } from "./testing/index.js";

describe("SnapshotStatusStore", () => {
  let server: TestServer;
  let redis: Redis;
  let store: SnapshotStatusStore;
  const keys = redisKeys("t");

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    store = new SnapshotStatusStore(redis, keys);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it("keeps the latest request and each cluster's outcome, sorted by cluster", async () => {
    expect(await store.read("s1")).toBeUndefined();
    await store.begin("s1", "r1", "2026-01-01T00:00:00.000Z");
    expect(await store.record("s1", "r1", { cluster: "west", state: "pending", at: "t1" })).toBe(true);
    expect(await store.record("s1", "r1", { cluster: "east", state: "taken", objects: 3, at: "t2" })).toBe(true);
    expect(await store.record("s1", "r1", { cluster: "west", state: "failed", reason: "r", at: "t3" })).toBe(true);
    expect(await store.read("s1")).toEqual({
      requestId: "r1",
      requestedAt: "2026-01-01T00:00:00.000Z",
      clusters: [
        { cluster: "east", state: "taken", objects: 3, at: "t2" },
        { cluster: "west", state: "failed", reason: "r", at: "t3" },
      ],
    });
  });

  it("a new request replaces the old one, whose late outcomes are refused", async () => {
    await store.begin("s2", "old", "t0");
    await store.record("s2", "old", { cluster: "east", state: "taken", objects: 1, at: "t1" });
    await store.begin("s2", "new", "t2");
    expect(await store.record("s2", "old", { cluster: "west", state: "taken", objects: 1, at: "t3" })).toBe(false);
    expect(await store.read("s2")).toEqual({ requestId: "new", requestedAt: "t2", clusters: [] });
  });

  it("onlyIfNew does not overwrite an outcome a watcher recorded first", async () => {
    await store.begin("s3", "r", "t0");
    await store.record("s3", "r", { cluster: "east", state: "taken", objects: 2, at: "t1" });
    expect(await store.record("s3", "r", { cluster: "east", state: "pending", at: "t2" }, { onlyIfNew: true })).toBe(
      false,
    );
    expect((await store.read("s3"))?.clusters).toEqual([{ cluster: "east", state: "taken", objects: 2, at: "t1" }]);
  });

  it("refuses to record an outcome that does not fit the schema", async () => {
    await store.begin("s4", "r", "t0");
    const bad = { cluster: "east", state: "done", at: "t" } as unknown as Parameters<typeof store.record>[2];
    await expect(store.record("s4", "r", bad)).rejects.toThrow();
    expect((await store.read("s4"))?.clusters).toEqual([]);
  });
});

describe("parseSnapshotStatus", () => {
  it("reports a stored outcome that is not JSON or does not fit as corrupt data", () => {
    const base = { requestId: "r", requestedAt: "t" };
    expect(() => parseSnapshotStatus("k", { ...base, "cluster:east": "{" })).toThrow(CorruptDataError);
    expect(() =>
      parseSnapshotStatus("k", { ...base, "cluster:east": '{"cluster":"east","state":"x","at":"t"}' }),
    ).toThrow(CorruptDataError);
  });
});
