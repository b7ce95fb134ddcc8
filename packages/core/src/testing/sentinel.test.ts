import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, redisReady } from "../redis.js";
import { type RedisSentinelSet, startRedisSentinel } from "./sentinel.js";
import { waitFor } from "./wait-for.js";

const PASSWORD = "s3cret/pw";

describe("startRedisSentinel", () => {
  let set: RedisSentinelSet;
  const clients: Redis[] = [];
  const direct = (port: number) => {
    const client = new Redis({ host: "127.0.0.1", port, password: PASSWORD, maxRetriesPerRequest: 1 });
    client.on("error", () => {
      // Commands report their own failures.
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    set = await startRedisSentinel({ password: PASSWORD, masterName: "helper" });
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await set?.stop();
  });

  it("runs a password-protected master and replica behind three sentinels that agree", async () => {
    const [first, second] = set.nodes;
    expect(set.sentinels).toHaveLength(3);
    expect(set.url).toBe(
      `redis+sentinel://:s3cret%2Fpw@${set.sentinels.map((s) => `127.0.0.1:${s.port}`).join(",")}/helper`,
    );
    expect(await set.master()).toEqual({ host: "127.0.0.1", port: first?.port });

    const client = connectRedis(set.url, "helper-test");
    client.on("error", () => {
      // The failover test below kills the master under it: reconnection errors are expected.
    });
    clients.push(client);
    await client.set("k", "v");
    const replica = direct(second?.port ?? 0);
    expect(await waitFor(async () => (await replica.get("k")) ?? undefined, { message: "k on the replica" })).toBe("v");
    const anonymous = new Redis({ host: "127.0.0.1", port: first?.port, maxRetriesPerRequest: 0 });
    anonymous.on("error", () => {
      // The refused command is the assertion.
    });
    clients.push(anonymous);
    await expect(anonymous.get("k")).rejects.toThrow(/NOAUTH/);
  });

  it("promotes the replica when the master is killed, and takes the old master back as a replica", async () => {
    const [first, second] = set.nodes;
    const killed = await set.killMaster();
    expect(killed.port).toBe(first?.port);
    const promoted = await waitFor(
      async () => {
        const m = await set.master();
        return m.port !== killed.port && m;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: "a new master" },
    );
    expect(promoted.port).toBe(second?.port);

    await set.restart();
    // Back as the promoted node's replica. On a loaded machine the sentinels may fail over once
    // more after that (back to it), so the roles are checked against whom they name now: one
    // master, the other node its replica, both holding the data.
    const master = await set.master();
    const role = async (port: number) => {
      const node = direct(port);
      await redisReady(node);
      return (await node.call("ROLE")) as unknown[];
    };
    const other = master.port === first?.port ? second : first;
    expect([first?.port, second?.port]).toContain(master.port);
    expect((await role(master.port))[0]).toBe("master");
    const replicaRole = await role(other?.port ?? 0);
    expect(replicaRole.slice(0, 3)).toEqual(["slave", "127.0.0.1", master.port]);
    expect(await direct(first?.port ?? 0).get("k")).toBe("v");
  });
});
