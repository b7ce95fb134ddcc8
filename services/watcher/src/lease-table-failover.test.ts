import { connectRedis, Redis, redisKeys } from "@mcic/core";
import { type RedisSentinelSet, startRedisSentinel, waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseTable } from "./lease-table.js";

/**
 * Leases through a Sentinel failover. Replication is asynchronous: a lease the replica had is
 * kept, one written just before the master died can be lost (see docs/operations.md).
 */
describe("LeaseTable through a Sentinel failover", () => {
  let set: RedisSentinelSet;
  let redis: Redis;
  const direct: Redis[] = [];
  const keys = redisKeys("lf");
  const table = (id: string) => new LeaseTable({ redis, keys, watcherId: id, ttlMs: 20_000 });
  /** Retries through the seconds without a master, as the watcher's loops do on their next tick. */
  const retried = <T>(what: string, run: () => Promise<T>) =>
    waitFor(async () => ({ value: await run() }), { timeoutMs: 25_000, intervalMs: 200, message: what }).then(
      (r) => r.value,
    );
  const connectTo = (port: number) => {
    const client = new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 1 });
    client.on("error", () => {
      // Commands report their own failures.
    });
    direct.push(client);
    return client;
  };

  beforeAll(async () => {
    set = await startRedisSentinel();
    redis = connectRedis(set.url, "lease-failover");
    redis.on("error", () => {
      // Expected while the master is down; the commands below retry.
    });
  });

  afterAll(async () => {
    for (const c of direct) c.disconnect();
    redis?.disconnect();
    await set?.stop();
  });

  it("renews a replicated lease on the promoted replica, and keeps it from other replicas", async () => {
    const a = table("a");
    const b = table("b");
    expect(await a.acquire("kept")).toBe(true);
    await a.heartbeat();
    expect(await redis.call("WAIT", "1", "5000")).toBe(1);

    const killed = await set.killMaster();
    expect(await retried("a renewal after the failover", () => a.renew("kept"))).toBe(true);
    expect((await set.master()).port).not.toBe(killed.port);
    expect(a.holds("kept")).toBe(true);
    expect(await a.holder("kept")).toBe("a");
    expect(await b.acquire("kept")).toBe(false);
    expect((await b.heartbeat()).sort()).toEqual(["a", "b"]);
    expect(await b.acquire("new")).toBe(true);
    await set.restart();
  });

  it("loses a lease the replica never got: the holder is fenced at its next renewal, another takes the cluster", async () => {
    const a = table("a");
    const b = table("b");
    const master = await set.master();
    const replicaPort = set.nodes.find((n) => n.port !== master.port)?.port ?? 0;
    const replica = connectTo(replicaPort);
    // Cut replication: the replica cannot sync again (wrong master password), so what the master
    // writes now is only on the master, as in the last milliseconds before a crash.
    await replica.config("SET", "masterauth", "wrong");
    await connectTo(master.port).client("KILL", "TYPE", "replica");
    expect(await a.acquire("lost")).toBe(true);

    await set.killMaster();
    expect(await retried("a read after the failover", () => a.holder("lost"))).toBeNull();
    await replica.config("SET", "masterauth", "");
    // Until its next renewal, a still believes it holds the cluster while b can take it: both
    // watch for a moment (duplicate deliveries), nothing is lost (b resumes or relists).
    expect(a.holds("lost")).toBe(true);
    expect(await b.acquire("lost")).toBe(true);
    expect(await a.renew("lost")).toBe(false);
    expect(a.holds("lost")).toBe(false);
    expect(await a.holder("lost")).toBe("b");
  });
});
