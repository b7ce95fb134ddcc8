import { connectRedis, createLogger, parseRedisUrl, redisKeys } from "@mcic/core";
import { type TestServer, startRedis, waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
      recorder.parked("rx", 1);
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
      // The log entry and the pending count come with the next write; the dead letter is its
      // caller's to redo (the message it came from was not acknowledged).
      await waitFor(async () => (await redis.llen(keys.deliveries("rx"))) === 1, { timeoutMs: 10_000 });
      expect(await redis.hget(keys.serverStatus("rx"), "pending")).toBe("1");
      expect(await redis.llen(keys.deadLetters("rx"))).toBe(0);
    } finally {
      redis.disconnect();
    }
  }, 30_000);
});
