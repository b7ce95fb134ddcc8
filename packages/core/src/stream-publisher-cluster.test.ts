import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats, type NatsConnection } from "./nats.js";
import { type ResendReason, StreamPublisher } from "./stream-publisher.js";
import { type NatsCluster, startNatsCluster } from "./testing/index.js";

describe("StreamPublisher on a 3-node cluster", () => {
  let cluster: NatsCluster;
  const connections: NatsConnection[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster();
  });

  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
    await cluster?.stop();
  });

  it("stores every message exactly once when the stream's leader is killed -9 mid-stream and comes back", async () => {
    const setup = await connectNats(cluster.url, "setup");
    connections.push(setup);
    const jsm = await jetstreamManager(setup);
    await jsm.streams.add({ name: "EV", subjects: ["ev.>"], num_replicas: 3, duplicate_window: 60e9 });
    const leader = await cluster.streamLeader("EV");
    const victim = cluster.nodes[leader];
    const follower = cluster.nodes[(leader + 1) % 3];
    if (!victim || !follower) throw new Error("no nodes");
    // One publisher loses its node with the leader (and reconnects), the other keeps its node.
    const resends: Record<string, number> = {};
    const onResend = (reason: ResendReason, n: number) => {
      resends[reason] = (resends[reason] ?? 0) + n;
    };
    const publishers = await Promise.all(
      [victim, follower].map(async (node, i) => {
        const nc = await connectNats(node.url, `publisher-${i}`);
        connections.push(nc);
        return new StreamPublisher(nc, { timeoutMs: 30_000, stream: "EV", onResend });
      }),
    );

    const acked: number[] = [];
    const failures: string[] = [];
    const all: Promise<void>[] = [];
    let restarted = false;
    for (let round = 0; round < 400 && !(restarted && round > 300); round++) {
      if (round === 40) await victim.kill();
      // Back once the others elected a new leader: it rejoins as a follower and catches up.
      if (!restarted && resends.leader_elected) {
        await victim.restart();
        restarted = true;
      }
      for (let k = 0; k < 20; k++) {
        const n = round * 20 + k;
        const publisher = publishers[n % 2] as StreamPublisher;
        all.push(
          publisher.publish(`ev.${n % 7}`, `m${n}`, `id-${n}`).then(
            () => void acked.push(Date.now()),
            (err: Error) => void failures.push(err.message),
          ),
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(all);

    expect(failures).toEqual([]);
    const info = await jsm.streams.info("EV");
    expect(info.state.messages).toBe(all.length);
    await cluster.ready();
    const pauseMs = Math.max(...acked.slice(1).map((t, i) => t - (acked[i] as number)));
    console.log(`leader loss: no ack for ${pauseMs} ms, resends ${JSON.stringify(resends)}`);
    expect(resends.leader_elected).toBeGreaterThan(0);
    for (const p of publishers) p.close();
  }, 60_000);
});
