import { jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamPublishError, StreamPublisher } from "./stream-publisher.js";
import { type TestServer, startNats } from "./testing/index.js";

let nats: TestServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url, noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "T", subjects: ["t.>"] });
  await jsm.streams.add({ name: "SMALL", subjects: ["small.>"], max_msg_size: 16 });
});

afterAll(async () => {
  await nc.close();
  await nats.stop();
});

function failure(p: Promise<unknown>): Promise<StreamPublishError> {
  return p.then(
    () => {
      throw new Error("publish succeeded");
    },
    (err: unknown) => err as StreamPublishError,
  );
}

describe("StreamPublisher", () => {
  it("stores each message once per id, in order, and tells duplicates apart", async () => {
    const publisher = new StreamPublisher(nc);
    const acks = await Promise.all(
      Array.from({ length: 2_000 }, (_, i) => publisher.publish(`t.${i % 7}`, `m${i}`, `id-${i}`)),
    );
    expect(acks.map((a) => a.duplicate)).toEqual(Array(2_000).fill(false));
    expect(acks.map((a) => a.seq)).toEqual(acks.map((a) => a.seq).sort((x, y) => x - y));
    const again = await publisher.publish("t.0", "m0", "id-0");
    expect(again).toEqual({ seq: acks[0]?.seq, duplicate: true });
    const info = await (await jetstreamManager(nc)).streams.info("T");
    expect(info.state.messages).toBe(2_000);
    expect(publisher.inFlight).toBe(0);
    publisher.close();
  });

  it("fails with a clear code when no stream takes the subject", async () => {
    const publisher = new StreamPublisher(nc);
    const err = await failure(publisher.publish("nowhere.x", "m", "a"));
    expect(err).toBeInstanceOf(StreamPublishError);
    expect(err.code).toBe("publish_no_stream");
    expect(err.message).toContain("nowhere.x");
    publisher.close();
  });

  it("fails when JetStream refuses the message", async () => {
    const publisher = new StreamPublisher(nc);
    const err = await failure(publisher.publish("small.x", "x".repeat(100), "big"));
    expect(err.code).toBe("publish_rejected");
    expect(err.message).toMatch(/small\.x.*maximum/i);
    publisher.close();
  });

  it("times out when nothing acknowledges, and ignores a late answer", async () => {
    // A plain subscriber answers nobody: the publish is neither stored nor refused.
    const silent = nc.subscribe("silent.x");
    const publisher = new StreamPublisher(nc, { timeoutMs: 200 });
    const started = Date.now();
    const err = await failure(publisher.publish("silent.x", "m", "s1"));
    expect(err.code).toBe("publish_timeout");
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(publisher.inFlight).toBe(0);
    silent.unsubscribe();
    publisher.close();
  });

  it("fails what is in flight on close, and every later publish", async () => {
    const silent = nc.subscribe("silent.y");
    const publisher = new StreamPublisher(nc);
    const pending = failure(publisher.publish("silent.y", "m", "c1"));
    publisher.close();
    expect((await pending).code).toBe("publisher_closed");
    expect((await failure(publisher.publish("t.1", "m", "c2"))).code).toBe("publisher_closed");
    silent.unsubscribe();
  });
});
