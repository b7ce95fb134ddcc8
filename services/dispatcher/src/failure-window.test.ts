import { Redis, redisKeys } from "@mcic/core";
import { type TestServer, startRedis } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FailureWindow } from "./failure-window.js";

const keys = redisKeys("fw");
let server: TestServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe("FailureWindow", () => {
  it("disables a server once it failed without a success for disableAfterSeconds, with the first failure and the last error", async () => {
    let now = Date.parse("2026-01-01T00:00:00.000Z");
    const window = new FailureWindow(redis, keys, () => now);
    const lb = { name: "lb", disableAfterSeconds: 60 };
    expect(await window.failed(lb, "HTTP 503")).toBeUndefined();
    now += 59_999;
    expect(await window.failed(lb, "HTTP 503")).toBeUndefined();
    expect(await redis.hget(keys.serverStatus("lb"), "disabledReason")).toBeNull();
    now += 1;
    expect(await window.failed(lb, "timeout")).toBe("failing since 2026-01-01T00:00:00.000Z: timeout");
    expect(await redis.hgetall(keys.serverStatus("lb"))).toEqual({
      failingSince: "2026-01-01T00:00:00.000Z",
      disabledReason: "failing since 2026-01-01T00:00:00.000Z: timeout",
      disabledAt: "2026-01-01T00:01:00.000Z",
    });
    // Another replica failing at the same moment does not disable it twice.
    expect(await window.failed(lb, "timeout")).toBeUndefined();
  });

  it("starts the window again after a success cleared it", async () => {
    let now = Date.parse("2026-02-01T00:00:00.000Z");
    const window = new FailureWindow(redis, keys, () => now);
    const lb = { name: "flaky", disableAfterSeconds: 60 };
    await window.failed(lb, "HTTP 500");
    now += 50_000;
    // What the recorder does on a success.
    await redis.hdel(keys.serverStatus("flaky"), "failingSince");
    await window.failed(lb, "HTTP 500");
    now += 50_000;
    expect(await window.failed(lb, "HTTP 500")).toBeUndefined();
    expect(await redis.hget(keys.serverStatus("flaky"), "failingSince")).toBe("2026-02-01T00:00:50.000Z");
    now += 10_000;
    expect(await window.failed(lb, "HTTP 500")).toBe("failing since 2026-02-01T00:00:50.000Z: HTTP 500");
  });

  it("restarts the window when its start cannot be read", async () => {
    const window = new FailureWindow(redis, keys, () => Date.parse("2026-03-01T00:00:00.000Z"));
    await redis.hset(keys.serverStatus("odd"), "failingSince", "yesterday");
    expect(await window.failed({ name: "odd", disableAfterSeconds: 60 }, "HTTP 500")).toBeUndefined();
    expect(await redis.hget(keys.serverStatus("odd"), "failingSince")).toBe("2026-03-01T00:00:00.000Z");
  });
});
