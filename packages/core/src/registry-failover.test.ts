import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChangeNotice, followChanges } from "./change-notice.js";
import { ConflictError } from "./errors.js";
import { createLogger } from "./logger.js";
import type { StoredCluster } from "./models.js";
import { connectRedis, type Redis } from "./redis.js";
import { Registry } from "./registry.js";
import { type RedisSentinelSet, startRedisSentinel } from "./testing/sentinel.js";
import { waitFor } from "./testing/wait-for.js";

function cluster(name: string): StoredCluster {
  return {
    name,
    resources: ["networking.k8s.io/v1/ingresses"],
    source: "server",
    credentials: "v1:sealed",
    createdAt: "2024-05-01T12:00:00.000Z",
    updatedAt: "2024-05-01T12:00:00.000Z",
  };
}

describe("Registry and change notices through a Sentinel failover", () => {
  let set: RedisSentinelSet;
  let redis: Redis;
  let subscriber: Redis;
  let registry: Registry;
  const notices: ChangeNotice[] = [];
  const errors: string[] = [];
  let reconnects = 0;

  beforeAll(async () => {
    set = await startRedisSentinel();
    redis = connectRedis(set.url, "registry-failover");
    subscriber = connectRedis(set.url, "registry-failover-sub");
    for (const r of [redis, subscriber]) r.on("error", (err: Error) => errors.push(err.message));
    registry = new Registry({ redis, prefix: "fo" });
    await followChanges(subscriber, registry.keys.changes, createLogger({ name: "test", level: "silent" }), {
      onNotice: (n) => notices.push(n),
      onReconnect: () => reconnects++,
    });
  });

  afterAll(async () => {
    subscriber?.disconnect();
    redis?.disconnect();
    await set?.stop();
  });

  it("writes (Lua scripts included) to the promoted replica, and the subscriber hears what is published after", async () => {
    await registry.createCluster(cluster("before"));
    await waitFor(() => notices.some((n) => n.name === "before"), { message: "the notice of before" });
    // Acknowledged by the replica: replication is asynchronous, and only this makes it survive.
    expect(await redis.call("WAIT", "1", "5000")).toBe(1);
    const reconnectsBefore = reconnects;

    const killed = await set.killMaster();
    // Writes fail while no master answers (the caller retries) and succeed once one is promoted.
    // A retry after a write that landed but whose reply was lost finds the cluster already there.
    await waitFor(
      async () => {
        await registry.createCluster(cluster("after")).catch((err: unknown) => {
          if (!(err instanceof ConflictError)) throw err;
        });
        return true;
      },
      { timeoutMs: 25_000, intervalMs: 200, message: "a registration write after the failover" },
    );
    expect((await set.master()).port).not.toBe(killed.port);
    expect(errors.length).toBeGreaterThan(0);
    expect(await registry.clusterNames()).toEqual(["after", "before"]);
    const updated = await registry.updateCluster("before", (c) => ({ ...c, resources: ["v1/services"] }));
    expect(updated?.resources).toEqual(["v1/services"]);

    // The subscriber reconnected to the new master and subscribed again by itself.
    await waitFor(() => reconnects > reconnectsBefore, { timeoutMs: 15_000, message: "the subscriber to reconnect" });
    await waitFor(
      async () => {
        await registry.announce({ kind: "server", name: "probe", op: "updated" });
        return notices.some((n) => n.name === "probe");
      },
      { timeoutMs: 15_000, intervalMs: 200, message: "a notice published after the failover" },
    );
    notices.length = 0;
    await registry.deleteCluster("after");
    await waitFor(() => notices.some((n) => n.name === "after" && n.op === "deleted"), {
      message: "the notice of the delete after the failover",
    });
  });

  it("follows a second failover, back to the first master that returned as a replica", async () => {
    await set.restart();
    expect(await redis.call("WAIT", "1", "5000")).toBe(1);
    const killed = await set.killMaster();
    await waitFor(
      async () => {
        await registry.updateCluster("before", (c) => ({ ...c, resources: ["v1/configmaps"] }));
        return true;
      },
      { timeoutMs: 25_000, intervalMs: 200, message: "an update after the second failover" },
    );
    expect((await set.master()).port).not.toBe(killed.port);
    expect((await registry.getCluster("before"))?.resources).toEqual(["v1/configmaps"]);
    notices.length = 0;
    await registry.createCluster(cluster("third"));
    await waitFor(() => notices.some((n) => n.name === "third"), { message: "the notice of third" });
  });
});
