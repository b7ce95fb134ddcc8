// "minimal loop (baseline)": the dispatcher a user could write in an afternoon, in its own process.
// Pull-consume from JetStream, turn each envelope into a CloudEvent (core's toCloudEvent), sign it
// (Standard Webhooks), POST it with undici to every target (64 connections, 256 requests in
// flight) and ack once all answered 2xx (nak otherwise). No validation, order, retries queue,
// metrics or delivery log: the cost of the bare work, which mcic's guarantees add to.
import { type Envelope, Semaphore, signWebhook, toCloudEvent, webhookKey } from "@mcic/core";
import { AckPolicy, DeliverPolicy, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { Agent } from "undici";
import { type BenchMessage, exitWithParent, toParent } from "./ipc.js";
import type { LoopStartMessage } from "./minimal-loop-process.js";

async function main(o: LoopStartMessage): Promise<void> {
  const nc = await connect({ servers: o.natsUrl });
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(o.stream, {
    durable_name: o.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: o.filterSubject,
    ack_wait: nanos(30_000),
    max_ack_pending: 50_000,
  });
  const consumer = await jetstream(nc).consumers.get(o.stream, o.durable);
  const messages = await consumer.consume({ max_messages: o.inFlight });
  const agent = new Agent({ connections: o.connections });
  const targets = o.targets.map((t) => ({ url: new URL(t.url), key: webhookKey(t.secret) }));
  const slots = new Semaphore(o.inFlight);
  const inFlight = new Set<Promise<void>>();

  const post = async (target: (typeof targets)[number], id: string, body: string): Promise<boolean> => {
    try {
      const ts = Math.floor(Date.now() / 1000);
      const res = await agent.request({
        origin: target.url.origin,
        path: target.url.pathname,
        method: "POST",
        headers: {
          "content-type": "application/cloudevents+json",
          "webhook-id": id,
          "webhook-timestamp": String(ts),
          "webhook-signature": signWebhook(target.key, id, ts, body),
        },
        body,
      });
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 300;
    } catch {
      return false;
    } finally {
      slots.release();
    }
  };

  const deliver = async (msg: JsMsg, sends: Promise<boolean>[]): Promise<void> => {
    const oks = await Promise.all(sends);
    if (oks.every(Boolean)) msg.ack();
    else msg.nak(1000);
  };

  process.on("message", (m: BenchMessage) => {
    if (m.type === "stop") messages.stop();
  });
  toParent({ type: "consuming" });

  for await (const msg of messages) {
    const envelope = msg.json<Envelope>();
    const body = JSON.stringify(toCloudEvent(envelope, { includeSecretData: false, payload: "full" }));
    const sends: Promise<boolean>[] = [];
    for (const t of targets) {
      await slots.acquire();
      sends.push(post(t, envelope.id, body));
    }
    const work = deliver(msg, sends);
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }
  await Promise.all(inFlight);
  await agent.close();
  await nc.close();
  process.disconnect();
}

process.once("message", (m: BenchMessage) => {
  if (m.type !== "start") return;
  main(m as LoopStartMessage).catch((err: unknown) => {
    console.error("minimal loop failed:", err);
    process.exit(1);
  });
});
exitWithParent();
toParent({ type: "ready" });
