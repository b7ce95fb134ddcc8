import { eventsStreamName } from "@mcic/core";
import { type NatsCluster, type TestServer, startNatsCluster, startRedis } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultStack } from "./support/fault-stack.js";
import { runMidStream } from "./support/scenario.js";

/** A 3-node JetStream cluster, streams with 3 replicas: the node leading the events stream dies. */
describe("fault: the NATS node leading the events stream killed with -9", () => {
  let nats: NatsCluster;
  let redis: TestServer;
  let fs: FaultStack;
  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNatsCluster(3), startRedis()]);
    fs = await FaultStack.start({
      backends: {
        natsUrl: nats.url,
        redisUrl: redis.url,
        stop: async () => {
          await Promise.all([nats.stop(), redis.stop()]);
        },
      },
      env: { STREAM_REPLICAS: "3" },
    });
  }, 90_000);
  afterAll(async () => {
    // Without a fault stack (it failed to start) nothing else stops the backends.
    if (fs) await fs.stop();
    else await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it("mid-stream, and brought back: every change reaches every server", async () => {
    const stream = eventsStreamName("mcic");
    let killed = -1;
    const rows = await runMidStream(fs, {
      name: "kill -9 NATS events-stream leader",
      fault: async () => {
        killed = await nats.streamLeader(stream);
        await nats.nodes[killed]?.kill("SIGKILL");
      },
      recover: async () => {
        // The remaining two elected a new leader and kept taking changes meanwhile.
        expect(await nats.streamLeader(stream)).not.toBe(killed);
        await nats.nodes[killed]?.restart();
      },
    });
    // A publish whose acknowledgement was lost with the leader is sent again with the same
    // Nats-Msg-Id and stored once; a delivery acked by nobody is sent again.
    for (const row of rows) {
      expect(row, row.server).toMatchObject({ lost: 0 });
      expect(row.duplicated, `${row.server} duplicates`).toBeLessThanOrEqual(50);
    }
  }, 180_000);
});
