// The floor of latency-bench's "published -> delivery" hop: the least a process between JetStream
// and a receiver can do (pull-consume, POST the message body as it came, ack), with no filters,
// signing, ordering or records. Started by latency-bench in its own process: argv NATS URL,
// stream, receiver URL; prints "ready" once consuming.
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Pool } from "undici";

const [natsUrl, stream, receiverUrl] = process.argv.slice(2) as [string, string, string];
const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
const jsm = await jetstreamManager(nc);
await jsm.consumers.add(stream, { durable_name: "floor", ack_policy: AckPolicy.Explicit });
const consumer = await jetstream(nc).consumers.get(stream, "floor");
const url = new URL(receiverUrl);
const pool = new Pool(url.origin, { connections: 16 });
const messages = await consumer.consume({ max_messages: 64 });
console.log("ready");
for await (const m of messages) {
  const id = m.headers?.get("Nats-Msg-Id") ?? "";
  pool
    .request({ method: "POST", path: url.pathname, headers: { "webhook-id": id }, body: m.data })
    .then(async (res) => {
      await res.body.dump();
      m.ack();
    })
    .catch((err: unknown) => {
      console.error(`floor relay POST failed: ${(err as Error).message}`);
      m.nak();
    });
}
