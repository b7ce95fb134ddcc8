import { createConnection } from "node:net";
import { existsSync } from "node:fs";
import { jetstream } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventsStreamName } from "../envelope.js";
import { connectNats, ensureEventsStream, type NatsConnection } from "../nats.js";
import { redisReady } from "../redis.js";
import { freePort, startNats, startRedis, type TestServer } from "./servers.js";
import { waitFor } from "./wait-for.js";

/** Whether something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("freePort", () => {
  it("returns a port nobody listens on", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await listening(port)).toBe(false);
  });
});

describe("startNats", () => {
  let nats: TestServer;
  const connections: NatsConnection[] = [];

  beforeAll(async () => {
    nats = await startNats();
  });

  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
    await nats?.stop();
  });

  it("serves NATS at its url, on a random port, away from 4222", async () => {
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    expect(nats.port).not.toBe(4222);
    const nc = await connectNats(nats.url, "servers-test");
    connections.push(nc);
    const sub = nc.subscribe("ping", { max: 1 });
    nc.publish("ping", "hello");
    for await (const msg of sub) expect(msg.string()).toBe("hello");
  });

  it("comes back on the same port after kill, keeping JetStream data", async () => {
    const prefix = "svtest";
    const nc = await connectNats(nats.url, "servers-test-js");
    connections.push(nc);
    let reconnected = false;
    void (async () => {
      for await (const s of nc.status()) if (s.type === "reconnect") reconnected = true;
    })();
    await ensureEventsStream(nc, { prefix, replicas: 1 });
    const ack = await jetstream(nc).publish(`${prefix}.events.c1.core.pods.default`, '{"hello":1}', {
      msgID: "c1/u/1/ADDED",
    });
    expect(ack.seq).toBe(1);

    await nats.kill();
    expect(await listening(nats.port)).toBe(false);
    await nats.restart();
    expect(await listening(nats.port)).toBe(true);

    // A fresh connection to the same URL works, and the stream and its message survived.
    const after = await connectNats(nats.url, "servers-test-after");
    connections.push(after);
    const jsm = await ensureEventsStream(after, { prefix, replicas: 1 });
    const info = await jsm.streams.info(eventsStreamName(prefix));
    expect(info.state.messages).toBe(1);
    expect(info.config.subjects).toEqual([`${prefix}.events.>`]);
    const stored = await (await jsm.jetstream().streams.get(eventsStreamName(prefix))).getMessage({ seq: 1 });
    expect(stored?.string()).toBe('{"hello":1}');

    // The connection made before the crash finds the server again by itself.
    await waitFor(() => reconnected, { message: "the old connection to reconnect" });
    const again = await jetstream(nc).publish(`${prefix}.events.c1.core.pods.default`, '{"hello":1}', {
      msgID: "c1/u/1/ADDED",
    });
    expect(again.duplicate).toBe(true);
  });

  it("restart() also works while the server is running", async () => {
    await nats.restart();
    const nc = await connectNats(nats.url, "servers-test-restart");
    connections.push(nc);
    await nc.flush();
    expect(nc.isClosed()).toBe(false);
  });

  it("stop() removes the data directory", async () => {
    const other = await startNats();
    expect(existsSync(other.dataDir)).toBe(true);
    await other.stop();
    expect(existsSync(other.dataDir)).toBe(false);
    expect(await listening(other.port)).toBe(false);
  });
});

describe("startRedis", () => {
  let redisServer: TestServer;
  let client: Redis | undefined;

  beforeAll(async () => {
    redisServer = await startRedis();
  });

  afterAll(async () => {
    client?.disconnect();
    await redisServer?.stop();
  });

  it("serves Redis at its url and keeps data across a kill -9 (AOF)", async () => {
    expect(redisServer.url).toBe(`redis://127.0.0.1:${redisServer.port}`);
    client = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    await redisReady(client);
    await client.set("k", "v");

    await redisServer.kill();
    await redisServer.restart();

    expect(await waitFor(async () => (await client?.get("k")) ?? undefined, { message: "k after restart" })).toBe("v");
  });
});
