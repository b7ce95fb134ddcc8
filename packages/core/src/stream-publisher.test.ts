import { jetstreamManager } from "@nats-io/jetstream";
import { type Msg, type NatsConnection, connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ResendReason, StreamPublishError, StreamPublisher } from "./stream-publisher.js";
import { type TestServer, startNats, waitFor } from "./testing/index.js";

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

/** What onResend was told. */
function recorder() {
  const calls: { reason: ResendReason; n: number }[] = [];
  return {
    record: (reason: ResendReason, n: number) => calls.push({ reason, n }),
    count: (reason: ResendReason) => calls.filter((c) => c.reason === reason).reduce((sum, c) => sum + c.n, 0),
    get reasons() {
      return [...new Set(calls.map((c) => c.reason))];
    },
  };
}

/**
 * A stand-in for a stream on plain NATS: `answer` gets each message it receives (and how many so
 * far) and returns the ack or error to reply with, or undefined to stay silent.
 */
function fakeStream(subject: string, answer: (msg: Msg, n: number) => object | undefined) {
  const seen: { subject: string; id: string }[] = [];
  const sub = nc.subscribe(subject, {
    callback: (_err, msg) => {
      seen.push({ subject: msg.subject, id: msg.headers?.get("Nats-Msg-Id") ?? "" });
      const reply = answer(msg, seen.length);
      if (reply) msg.respond(JSON.stringify(reply));
    },
  });
  return { seen, stop: () => sub.unsubscribe() };
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

  it("keeps sending a message no stream takes until its deadline, then fails naming the subject", async () => {
    const resends = recorder();
    const publisher = new StreamPublisher(nc, { timeoutMs: 600, onResend: resends.record });
    const err = await failure(publisher.publish("nowhere.x", "m", "a"));
    expect(err).toBeInstanceOf(StreamPublishError);
    expect(err.code).toBe("publish_no_stream");
    expect(err.message).toContain("nowhere.x");
    expect(resends.count("refused")).toBeGreaterThanOrEqual(2);
    expect(publisher.inFlight).toBe(0);
    publisher.close();
  });

  it("stores a message refused while no stream listened once one does, as after a leader election", async () => {
    const resends = recorder();
    const publisher = new StreamPublisher(nc, { timeoutMs: 10_000, onResend: resends.record });
    const acked = publisher.publish("late.x", "m", "late-1");
    await waitFor(() => resends.count("refused") > 0, { message: "a refusal" });
    await (await jetstreamManager(nc)).streams.add({ name: "LATE", subjects: ["late.>"] });
    expect(await acked).toEqual({ seq: 1, duplicate: false });
    expect((await (await jetstreamManager(nc)).streams.info("LATE")).state.messages).toBe(1);
    publisher.close();
  });

  it("sends an unanswered message again, same Nats-Msg-Id, once a later one is acked", async () => {
    const fake = fakeStream("gap.>", (_msg, n) => (n === 1 ? undefined : { stream: "F", seq: n }));
    const resends = recorder();
    const publisher = new StreamPublisher(nc, { resendAfterMs: 200, onResend: resends.record });
    const lost = publisher.publish("gap.a", "a", "id-a");
    await publisher.publish("gap.b", "b", "id-b");
    expect(await lost).toEqual({ seq: 3, duplicate: false });
    expect(fake.seen).toEqual([
      { subject: "gap.a", id: "id-a" },
      { subject: "gap.b", id: "id-b" },
      { subject: "gap.a", id: "id-a" },
    ]);
    expect(resends.count("unanswered")).toBe(1);
    fake.stop();
    publisher.close();
  });

  it("sends again a message JetStream could not take for now (503 temporarily unavailable)", async () => {
    const busy = { error: { code: 503, err_code: 10008, description: "JetStream system temporarily unavailable" } };
    const fake = fakeStream("busy.>", (_msg, n) => (n < 3 ? busy : { stream: "F", seq: 7 }));
    const publisher = new StreamPublisher(nc);
    expect(await publisher.publish("busy.a", "a", "id-busy")).toEqual({ seq: 7, duplicate: false });
    expect(fake.seen.map((m) => m.id)).toEqual(["id-busy", "id-busy", "id-busy"]);
    fake.stop();
    publisher.close();
  });

  it("does not resend while a slow stream keeps acking in order", async () => {
    // Acks every 30 ms in order: the last of 30 messages waits 900 ms, far past resendAfterMs.
    let next = Date.now();
    const fake = fakeStream("slow.>", (msg, n) => {
      next = Math.max(next, Date.now()) + 30;
      setTimeout(() => msg.respond(JSON.stringify({ stream: "S", seq: n })), next - Date.now());
      return undefined;
    });
    const resends = recorder();
    const publisher = new StreamPublisher(nc, { resendAfterMs: 200, onResend: resends.record });
    await Promise.all(Array.from({ length: 30 }, (_, i) => publisher.publish(`slow.${i}`, "m", `slow-${i}`)));
    expect(fake.seen).toHaveLength(30);
    expect(resends.reasons).toEqual([]);
    fake.stop();
    publisher.close();
  });

  it("sends everything waiting again at once when its stream announces a new leader", async () => {
    const fake = fakeStream("quiet.>", () => undefined);
    const resends = recorder();
    const publisher = new StreamPublisher(nc, { stream: "QUIET", resendAfterMs: 20_000, onResend: resends.record });
    const waiting = [1, 2, 3].map((i) => failure(publisher.publish(`quiet.${i}`, "m", `quiet-${i}`)));
    await waitFor(() => fake.seen.length === 3, { message: "three sent" });
    // Another stream's election is none of its business.
    nc.publish("$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.OTHER", "{}");
    nc.publish("$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.QUIET", "{}");
    await waitFor(() => fake.seen.length === 6, { timeoutMs: 2_000, message: "three sent again" });
    expect(fake.seen.slice(3).map((m) => m.id)).toEqual(["quiet-1", "quiet-2", "quiet-3"]);
    expect(resends.reasons).toEqual(["leader_elected"]);
    publisher.close();
    for (const err of await Promise.all(waiting)) expect(err.code).toBe("publisher_closed");
    fake.stop();
  });

  it("sends everything waiting again when its connection comes back from a restarted server", async () => {
    const own = await startNats();
    const conn = await connect({ servers: own.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    try {
      const seen: string[] = [];
      conn.subscribe("rc.>", { callback: (_err, msg) => void seen.push(msg.headers?.get("Nats-Msg-Id") ?? "") });
      const resends = recorder();
      const publisher = new StreamPublisher(conn, {
        resendAfterMs: 20_000,
        timeoutMs: 30_000,
        onResend: resends.record,
      });
      const waiting = failure(publisher.publish("rc.1", "m", "rc-1"));
      await waitFor(() => seen.length === 1, { message: "sent once" });
      await own.restart();
      await waitFor(() => seen.length === 2, { message: "sent again after the reconnect" });
      expect(seen).toEqual(["rc-1", "rc-1"]);
      expect(resends.reasons).toEqual(["reconnected"]);
      publisher.close();
      expect((await waiting).code).toBe("publisher_closed");
    } finally {
      await conn.close();
      await own.stop();
    }
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
