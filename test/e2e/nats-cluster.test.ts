import { deliveriesStreamName, eventsStreamName } from "@mcic/core";
import {
  type NatsCluster,
  type Receiver,
  type TestServer,
  startNatsCluster,
  startReceiver,
  startRedis,
  waitFor,
} from "@mcic/core/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { type Stack, scrapeMetric, startStack } from "../support/stack.js";

const ING = "networking.k8s.io/v1/ingresses";
const CHANGES = 400;

interface Delivered {
  id: string;
  data: { name: string; resourceVersion: string };
}

describe("on a 3-node NATS cluster", () => {
  let cluster: NatsCluster;
  let redis: TestServer;
  let sim: KubeSim;
  let stack: Stack;
  let receiver: Receiver;
  let nc: NatsConnection;

  beforeAll(async () => {
    [cluster, redis, sim, receiver] = await Promise.all([
      startNatsCluster(),
      startRedis(),
      KubeSim.start(),
      startReceiver(),
    ]);
    // Short attempts keep the ack wait at its 5 s floor: a message whose ack died with the old
    // consumer leader comes back that much later.
    stack = await startStack({
      natsUrl: cluster.url,
      redisUrl: redis.url,
      env: { STREAM_REPLICAS: "3", DISPATCH_TIMEOUT_MS: "1000" },
    });
    nc = await connect({ servers: cluster.url.split(","), maxReconnectAttempts: -1 });
  }, 60_000);

  afterAll(async () => {
    await nc?.close();
    await stack?.stop();
    await Promise.all([sim?.stop(), receiver?.close()]);
    await Promise.all([cluster?.stop(), redis?.stop()]);
  });

  it("keeps both streams and the dispatch consumer on all three nodes", async () => {
    const jsm = await jetstreamManager(nc);
    for (const stream of [eventsStreamName("mcic"), deliveriesStreamName("mcic")]) {
      const info = await jsm.streams.info(stream);
      expect(info.config.num_replicas, stream).toBe(3);
      // The leader and its two peers: one copy on each node.
      const holders = [info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)];
      expect(holders.sort(), stream).toEqual(cluster.nodes.map((n) => n.name).sort());
    }
    const consumer = await jsm.consumers.info(eventsStreamName("mcic"), `${eventsStreamName("mcic")}_dispatch`);
    const holders = [consumer.cluster?.leader, ...(consumer.cluster?.replicas ?? []).map((r) => r.name)];
    expect(holders.sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
  });

  it("delivers every change when the node leading the events stream is killed -9 mid-stream and comes back", async () => {
    expect((await stack.api("/api/v1/servers", { body: { name: "rx", url: receiver.url } })).status).toBe(201);
    await stack.services.dispatcher.waitForLog("server change applied", 5000, { server: "rx" });
    const sc = sim.cluster("east");
    expect((await stack.api("/api/v1/clusters", { body: { name: "east", server: sc.url } })).status).toBe(201);
    await waitFor(
      async () => (await stack.api("/api/v1/clusters/east")).body.status?.resources?.[0]?.state === "watching",
      { message: "east watching" },
    );

    const leader = await cluster.streamLeader(eventsStreamName("mcic"));
    const victim = cluster.nodes[leader];
    if (!victim) throw new Error("no leader node");
    const madeAt = new Map<string, number>();
    const startedAt = Date.now();
    let killedAt = 0;
    let restart: Promise<void> | undefined;
    for (let i = 0; i < CHANGES; i++) {
      if (i === 100) {
        killedAt = Date.now();
        await victim.kill("SIGKILL");
        // Back as soon as the others chose a new leader, while changes keep coming.
        restart = cluster.streamLeader(eventsStreamName("mcic"), 30_000).then(() => victim.restart());
      }
      const name = `ing-${i}`;
      const made = sc.create(ING, {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { namespace: "shop", name },
        spec: { rules: [{ host: `${name}.example.com` }] },
      });
      madeAt.set(`${name}/${made.metadata.resourceVersion}`, Date.now());
      await new Promise((r) => setTimeout(r, 20));
    }
    await restart;

    const got = () => (receiver.delivered() as Delivered[]).map((e) => `${e.data.name}/${e.data.resourceVersion}`);
    // Past the deadline the check gives up waiting, so that the assertion below names what is lost.
    const deadline = Date.now() + 30_000;
    await waitFor(() => [...madeAt.keys()].every((k) => got().includes(k)) || Date.now() > deadline, {
      timeoutMs: 35_000,
      intervalMs: 200,
      message: "every change delivered",
    });
    const delivered = got();
    const unique = new Set(delivered);
    const lost = [...madeAt.keys()].filter((k) => !unique.has(k));
    // What a receiver noticed: how late the changes made around the kill arrived.
    const firstSeen = new Map<string, number>();
    for (const r of receiver.requests) {
      const e = JSON.parse(r.body) as Delivered;
      const key = `${e.data.name}/${e.data.resourceVersion}`;
      if (!firstSeen.has(key)) firstSeen.set(key, r.at);
    }
    const delays = [...madeAt].map(([k, at]) => (firstSeen.get(k) ?? Number.NaN) - at).sort((a, b) => a - b);
    console.log(
      `nats cluster leader loss: made ${madeAt.size}, delivered ${unique.size}, lost ${lost.length}, ` +
        `duplicated ${delivered.length - unique.size}; delay p50 ${delays[Math.floor(delays.length / 2)]} ms, ` +
        `max ${delays.at(-1)} ms; killed ${((killedAt - startedAt) / 1000).toFixed(1)} s in`,
    );
    expect(lost).toEqual([]);
    // The election is ridden out by resending: no watch failed (its cluster status never showed
    // an error), and the pause is the election's (5-10 s), not a 30 s publish or pull timeout.
    expect(await scrapeMetric(stack.services.watcher, "mcic_watcher_watch_restarts_total")).toBe(0);
    expect(delays.at(-1)).toBeLessThan(25_000);
    // Nothing crashed on the way.
    for (const svc of Object.values(stack.services)) expect(svc.child.exitCode, svc.name).toBeNull();
  }, 60_000);
});
