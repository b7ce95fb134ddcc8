import {
  connectRedis,
  createLogger,
  deliverySubject,
  ensureDeliveriesStream,
  parseRedisUrl,
  redisKeys,
} from "@mcic/core";
import { type TestServer, startNats, startRedis } from "@mcic/core/testing";
import { AckPolicy, type JetStreamManager, jetstream } from "@nats-io/jetstream";
import { type NatsConnection, connect } from "@nats-io/transport-node";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryBacklog } from "./delivery-backlog.js";

let nats: TestServer;
let redisServer: TestServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let redis: Redis;
const keys = redisKeys("bk");

beforeAll(async () => {
  [nats, redisServer] = await Promise.all([startNats(), startRedis()]);
  nc = await connect({ servers: nats.url, noAsyncTraces: true });
  jsm = await ensureDeliveriesStream(nc, { prefix: "bk", replicas: 1 });
  redis = connectRedis(parseRedisUrl(redisServer.url), "backlog-test");
});

afterAll(async () => {
  redis?.disconnect();
  await nc?.close();
  await Promise.all([nats?.stop(), redisServer?.stop()]);
});

describe("DeliveryBacklog", () => {
  it("writes each server's pending from its durable queue: duplicates once, acked ones gone, deleted servers untouched", async () => {
    const js = jetstream(nc);
    const servers = ["a", "b", "idle"];
    for (const name of servers) await redis.set(keys.server(name), "{}");
    await redis.hset(keys.serverStatus("idle"), "pending", "7"); // left by a crashed replica's counter
    const park = (server: string, id: string) => js.publish(deliverySubject("bk", server), "{}", { msgID: id });
    await Promise.all([park("a", "1"), park("a", "2"), park("a", "3"), park("b", "4")]);
    // A redelivered event parks the same attempt again: JetStream drops it; the count must not move.
    expect((await park("a", "3")).duplicate).toBe(true);

    const backlog = new DeliveryBacklog({
      jsm,
      redis,
      keys,
      prefix: "bk",
      servers: () => servers,
      logger: createLogger({ name: "test", level: "silent" }),
    });
    expect(await backlog.refresh()).toEqual(
      new Map([
        ["a", 3],
        ["b", 1],
        ["idle", 0],
      ]),
    );
    const pending = async (s: string) => redis.hget(keys.serverStatus(s), "pending");
    expect([await pending("a"), await pending("b"), await pending("idle")]).toEqual(["3", "1", "0"]);

    // Consumed and acked: the work queue drops them, and so does the count.
    await jsm.consumers.add("BK_DELIVERIES", { durable_name: "t", ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get("BK_DELIVERIES", "t");
    const batch = await consumer.fetch({ max_messages: 2, expires: 2000 });
    for await (const m of batch) await m.ackAck();
    expect((await backlog.refresh()).get("a")).toBe(1); // one connection: stored in publish order
    expect([await pending("a"), await pending("b")]).toEqual(["1", "1"]);

    // A server deleted meanwhile (its record gone) gets no status back, though its count changed.
    await redis.del(keys.server("b"), keys.serverStatus("b"));
    await park("b", "5");
    expect((await backlog.refresh()).get("b")).toBe(2);
    expect(await redis.exists(keys.serverStatus("b"))).toBe(0);
  });
});
