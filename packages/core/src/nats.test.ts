import { AckPolicy, jetstream } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveriesStreamName } from "./delivery.js";
import { eventsStreamName } from "./envelope.js";
import { connectNats, ensureDeliveriesStream, ensureEventsStream, type NatsConnection, natsServers } from "./nats.js";
import { type NatsCluster, type TestServer, startNats, startNatsCluster, waitFor } from "./testing/index.js";

describe("natsServers", () => {
  it("reads one URL or a comma list of a cluster's nodes, spaces and stray commas ignored", () => {
    expect(natsServers("nats://127.0.0.1:4222")).toEqual(["nats://127.0.0.1:4222"]);
    expect(natsServers(" nats://a:4222, nats://b:4222 ,,nats://c:4222,")).toEqual([
      "nats://a:4222",
      "nats://b:4222",
      "nats://c:4222",
    ]);
  });
});

describe("ensureEventsStream on one server", () => {
  let server: TestServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startNats();
    nc = await connectNats(server.url, "nats-test-single");
  });

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it("fails at once, saying why, when asked for replicas a lone server cannot give", async () => {
    const started = Date.now();
    await expect(ensureEventsStream(nc, { prefix: "lone", replicas: 3 })).rejects.toThrow(/replicas/i);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe("streams on a 3-node JetStream cluster", () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;

  beforeAll(async () => {
    cluster = await startNatsCluster();
    nc = await connectNats(cluster.url, "nats-test");
  });

  afterAll(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  /** Replicas JetStream placed (the leader and its peers), once every peer caught up. */
  async function placed(stream: string, replicas: number): Promise<void> {
    const jsm = await jetstream(nc).jetstreamManager();
    await waitFor(
      async () => {
        const info = await jsm.streams.info(stream);
        const peers = info.cluster?.replicas ?? [];
        return (
          info.config.num_replicas === replicas &&
          info.cluster?.leader !== undefined &&
          peers.length === replicas - 1 &&
          peers.every((p) => p.current)
        );
      },
      { timeoutMs: 15_000, message: `${stream} on ${replicas} nodes` },
    );
  }

  it("creates both streams with STREAM_REPLICAS replicas, one on each node", async () => {
    await ensureEventsStream(nc, { prefix: "rep", replicas: 3 });
    await ensureDeliveriesStream(nc, { prefix: "rep", replicas: 3 });
    await placed(eventsStreamName("rep"), 3);
    await placed(deliveriesStreamName("rep"), 3);
    // Started again with the same settings (every service does at start): nothing changes.
    const jsm = await ensureEventsStream(nc, { prefix: "rep", replicas: 3 });
    expect((await jsm.streams.info(eventsStreamName("rep"))).config.num_replicas).toBe(3);
  });

  it("gives three services starting together their streams (nats-server 2.9 leaves racing creates unanswered)", async () => {
    const started = Date.now();
    const services = await Promise.all([0, 1, 2].map((i) => connectNats(cluster.url, `service-${i}`)));
    try {
      await Promise.all(
        services.map(async (service) => {
          await ensureEventsStream(service, { prefix: "race", replicas: 3 });
          await ensureDeliveriesStream(service, { prefix: "race", replicas: 3 });
        }),
      );
    } finally {
      await Promise.all(services.map((service) => service.close()));
    }
    await placed(eventsStreamName("race"), 3);
    await placed(deliveriesStreamName("race"), 3);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("moves an existing stream from 1 to 3 replicas and back, keeping its messages and consumers", async () => {
    const stream = eventsStreamName("grow");
    const jsm = await ensureEventsStream(nc, { prefix: "grow", replicas: 1 });
    await jsm.consumers.add(stream, { durable_name: "d", ack_policy: AckPolicy.Explicit });
    const js = jetstream(nc);
    for (let i = 0; i < 20; i++) await js.publish(`grow.events.c.core.pods.ns${i}`, `m${i}`, { msgID: `id-${i}` });

    await ensureEventsStream(nc, { prefix: "grow", replicas: 3 });
    await placed(stream, 3);
    const info = await jsm.streams.info(stream);
    expect(info.state.messages).toBe(20);
    // Consumers inherit the stream's replicas: the durable moved along.
    const consumer = await waitFor(
      async () => {
        const c = await jsm.consumers.info(stream, "d");
        return c.cluster?.replicas?.length === 2 && c.cluster.replicas.every((p) => p.current) && c;
      },
      { timeoutMs: 15_000, message: "the consumer on 3 nodes" },
    );
    expect(consumer.config.num_replicas ?? 0).toBe(0);
    // Duplicate detection survived the move.
    expect((await js.publish("grow.events.c.core.pods.ns0", "m0", { msgID: "id-0" })).duplicate).toBe(true);

    await ensureEventsStream(nc, { prefix: "grow", replicas: 1 });
    await placed(stream, 1);
    expect((await jsm.streams.info(stream)).state.messages).toBe(20);
  });

  it("connects through the comma list while one node is down", async () => {
    const [node, alive] = cluster.nodes;
    if (!node || !alive) throw new Error("no nodes");
    await node.kill();
    try {
      // The client tries the nodes in random order: a few connections meet the dead one first.
      for (let i = 0; i < 6; i++) {
        const other = await connectNats(`${node.url}, ${alive.url}`, `nats-test-${i}`);
        expect(other.getServer()).not.toBe(node.url.replace("nats://", ""));
        await other.close();
      }
    } finally {
      await node.restart();
      await cluster.ready();
    }
  });
});
