import { existsSync } from "node:fs";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats, type NatsConnection } from "../nats.js";
import { type NatsCluster, startNatsCluster } from "./nats-cluster.js";
import { waitFor } from "./wait-for.js";

describe("startNatsCluster", () => {
  let cluster: NatsCluster;
  const connections: NatsConnection[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster();
  });

  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
    await cluster?.stop();
  });

  async function connect(url = cluster.url): Promise<NatsConnection> {
    const nc = await connectNats(url, "nats-cluster-test");
    connections.push(nc);
    return nc;
  }

  it("runs three routed JetStream nodes behind one comma-separated URL, on random ports", async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.url.split(",")).toEqual(cluster.nodes.map((n) => n.url));
    expect(new Set(cluster.nodes.map((n) => n.port)).size).toBe(3);
    expect(cluster.nodes.map((n) => n.port)).not.toContain(4222);
    // A message published on one node reaches a subscriber on another.
    const [a, b] = await Promise.all([connect(cluster.nodes[0]?.url), connect(cluster.nodes[2]?.url)]);
    const sub = b.subscribe("hello", { max: 1 });
    await b.flush();
    await waitFor(
      async () => {
        a.publish("hello", "from n0");
        await a.flush();
        return sub.getReceived() > 0;
      },
      { message: "a routed message" },
    );
    for await (const msg of sub) expect(msg.string()).toBe("from n0");
  });

  it("places a stream on all three nodes and names the node leading it", async () => {
    const nc = await connect();
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.add({ name: "HELPER", subjects: ["helper.>"], num_replicas: 3 });
    expect(info.config.num_replicas).toBe(3);
    const leader = await cluster.streamLeader("HELPER");
    const named = await waitFor(async () => (await jsm.streams.info("HELPER")).cluster?.leader, {
      message: "the leader in stream info",
    });
    expect(cluster.nodes[leader]?.name).toBe(named);
  });

  it("elects another leader when the leading node is killed -9, and takes the node back with its data", async () => {
    const nc = await connect();
    const js = jetstream(nc);
    await js.publish("helper.a", "before", { msgID: "m1" });
    const first = await cluster.streamLeader("HELPER");
    const node = cluster.nodes[first];
    if (!node) throw new Error("no leader node");
    await node.kill();
    const second = await cluster.streamLeader("HELPER");
    expect(second).not.toBe(first);
    // Two of three nodes still make a quorum: the stream keeps storing.
    await waitFor(() => js.publish("helper.a", "during", { msgID: "m2" }), { message: "a publish without the node" });

    await node.restart();
    expect(existsSync(node.dataDir)).toBe(true);
    await cluster.ready();
    // The restarted node catches up from the others: it holds both messages again.
    await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${node.monitorPort}/jsz?streams=true`);
        const body = (await res.json()) as {
          account_details?: { stream_detail?: { state: { messages: number } }[] }[];
        };
        return body.account_details?.[0]?.stream_detail?.[0]?.state.messages === 2;
      },
      { timeoutMs: 15_000, message: "the restarted node to hold both messages" },
    );
  });
});
