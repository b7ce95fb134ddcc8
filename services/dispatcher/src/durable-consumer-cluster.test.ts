import { Writable } from "node:stream";
import { StreamPublisher, connectNats, createLogger } from "@mcic/core";
import { type NatsCluster, startNatsCluster, waitFor } from "@mcic/core/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { DurableConsumer } from "./durable-consumer.js";

const logLines: Record<string, unknown>[] = [];
const logger = createLogger({
  name: "durable-consumer-cluster-test",
  destination: new Writable({
    write(chunk, _enc, cb) {
      logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  }),
});

describe("DurableConsumer on a 3-node cluster", () => {
  let cluster: NatsCluster;
  let consumer: DurableConsumer<{ n: number }> | undefined;
  const connections: NatsConnection[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster();
  });

  afterAll(async () => {
    await consumer?.stop();
    await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
    await cluster?.stop();
  });

  it("keeps consuming when the node leading the consumer is killed -9 mid-stream", async () => {
    const admin = await connectNats(cluster.url, "admin");
    connections.push(admin);
    const jsm = await jetstreamManager(admin);
    await jsm.streams.add({ name: "DC", subjects: ["dc.>"], num_replicas: 3 });
    const handled = new Map<number, number>();
    const start = async (nc: NatsConnection) => {
      consumer = new DurableConsumer({
        nats: nc,
        stream: "DC",
        durable: "DC_work",
        filterSubject: "dc.>",
        ackWaitMs: 5_000,
        maxAckPending: 1_000,
        concurrency: 8,
        logger,
        schema: z.object({ n: z.number() }),
        handle: async ({ n }) => {
          handled.set(n, (handled.get(n) ?? 0) + 1);
          return undefined;
        },
      });
      await consumer.start();
    };
    // The consumer's leader is placed once it exists: start on any node, then find it.
    const probe = await connectNats(cluster.url, "probe");
    connections.push(probe);
    await start(probe);
    const leaderName = await waitFor(async () => (await jsm.consumers.info("DC", "DC_work")).cluster?.leader, {
      message: "the consumer's leader",
    });
    const victimIndex = cluster.nodes.findIndex((node) => node.name === leaderName);
    const victim = cluster.nodes[victimIndex];
    const keeper = cluster.nodes[(victimIndex + 1) % 3];
    if (!victim || !keeper) throw new Error("no nodes");
    // Consume over a node that survives: no reconnect tells the client anything happened.
    await consumer?.stop();
    const nc = await connectNats(keeper.url, "consumer");
    connections.push(nc);
    await start(nc);

    const publisher = new StreamPublisher(admin, { timeoutMs: 30_000, stream: "DC" });
    const sent: Promise<unknown>[] = [];
    for (let n = 0; n < 300; n++) {
      if (n === 100) await victim.kill();
      if (n === 200) await victim.restart();
      sent.push(publisher.publish(`dc.${n % 5}`, JSON.stringify({ n }), `dc-${n}`));
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(sent);
    const storedAt = Date.now();
    // The client library alone waited for two missed 15 s heartbeats and more: 30-40 s.
    await waitFor(() => handled.size === 300, { timeoutMs: 10_000, message: "all 300 handled" });
    console.log(`consumer leader loss: all handled ${Date.now() - storedAt} ms after the last was stored`);
    expect(logLines.some((l) => l.msg === "consumer leader changed; pulling again")).toBe(true);
    publisher.close();
  }, 60_000);
});
