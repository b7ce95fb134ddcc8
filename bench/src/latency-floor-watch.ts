// The floor of latency-bench's "change -> published" hop: the least a watcher can do (one watch
// request, each event line parsed and published to JetStream with its id), with no leases,
// resume points, diffing or envelope building. Started by latency-bench in its own process: argv
// kube-sim cluster URL, token, namespace, NATS URL, subject; prints "ready" once watching.
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

const [clusterUrl, token, namespace, natsUrl, subject] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
const js = jetstream(nc);
const headers = { authorization: `Bearer ${token}` };
const list = (await (await fetch(`${clusterUrl}/api/v1/namespaces/${namespace}/configmaps`, { headers })).json()) as {
  metadata: { resourceVersion: string };
};
const res = await fetch(
  `${clusterUrl}/api/v1/namespaces/${namespace}/configmaps?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
  { headers },
);
if (!res.body) throw new Error("watch without a body");
console.log("ready");
const decoder = new TextDecoder();
let partial = "";
for await (const chunk of res.body) {
  partial += decoder.decode(chunk as Uint8Array, { stream: true });
  const lines = partial.split("\n");
  partial = lines.pop() ?? "";
  for (const line of lines) {
    if (!line) continue;
    const event = JSON.parse(line) as { type: string; object: { metadata: { uid: string; resourceVersion: string } } };
    if (event.type !== "MODIFIED") continue;
    const id = `${event.object.metadata.uid}/${event.object.metadata.resourceVersion}`;
    js.publish(subject, JSON.stringify(event.object), { msgID: id }).catch((err: unknown) => {
      console.error(`floor watch publish failed: ${(err as Error).message}`);
    });
  }
}
