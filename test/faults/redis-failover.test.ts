import { type RedisSentinelSet, type TestServer, startNats, startRedisSentinel, waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultStack } from "./support/fault-stack.js";
import { runMidStream } from "./support/scenario.js";

/** Redis behind Sentinel: the master dies mid-stream and Sentinel promotes the replica. */
describe("fault: the Redis master killed with -9", () => {
  let nats: TestServer;
  let redis: RedisSentinelSet;
  let fs: FaultStack;
  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedisSentinel()]);
    fs = await FaultStack.start({
      backends: {
        natsUrl: nats.url,
        redisUrl: redis.url,
        stop: async () => {
          await Promise.all([nats.stop(), redis.stop()]);
        },
      },
    });
  }, 90_000);
  afterAll(async () => {
    // Without a fault stack (it failed to start) nothing else stops the backends.
    if (fs) await fs.stop();
    else await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it("mid-stream: every change reaches every server, and the old master comes back as a replica", async () => {
    let killedPort = 0;
    const rows = await runMidStream(fs, {
      name: "kill -9 Redis master (Sentinel)",
      fault: async () => {
        killedPort = (await redis.killMaster()).port;
      },
      recover: async () => {
        await waitFor(async () => (await redis.master()).port !== killedPort, {
          timeoutMs: 30_000,
          intervalMs: 200,
          message: "Sentinel to promote the replica",
        });
        await redis.restart();
      },
      settleMs: 90_000,
    });
    for (const row of rows) {
      expect(row, row.server).toMatchObject({ lost: 0 });
      // Resume points and delivery state written in the last moments before the kill may not have
      // reached the replica: what they covered is sent again, never skipped.
      expect(row.duplicated, `${row.server} duplicates`).toBeLessThanOrEqual(100);
    }
    for (const name of ["api", "watcher", "dispatcher"] as const) {
      expect(fs.service(name).child.exitCode, `${name} still running`).toBeNull();
    }
  }, 180_000);
});
