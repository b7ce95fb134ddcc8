// A share of the scale benchmark's virtual clusters, served by kube-sim in a process of its own:
// one process cannot hold 20,000 watch connections on both ends under this machine's fd limit,
// and the producer's CPU should not count against the process that measures. Driven over IPC
// by watcher-scale.ts (forked with FIRST, COUNT, RESOURCES, OBJECTS in its environment).
import { KubeSim } from "@mcic/test/kube-sim";
import { z } from "zod";

const env = z
  .object({
    FIRST: z.coerce.number().int().nonnegative(),
    COUNT: z.coerce.number().int().positive(),
    RESOURCES: z.string().min(1),
    OBJECTS: z.coerce.number().int().positive(),
    /** PEM certificate and key: serve HTTPS, offering HTTP/2 as API servers do. Plain HTTP/1.1 without. */
    TLS_CERT: z.string().optional(),
    TLS_KEY: z.string().optional(),
  })
  .parse(process.env);

/** What the benchmark asks of a shard. */
const CommandSchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("change"), changes: z.number().int().nonnegative(), offset: z.number().int() }),
  z.object({ op: z.literal("stop") }),
]);

/** What a shard answers. */
export type ShardMessage = { op: "ready"; url: string } | { op: "changed"; seconds: number };

const send = (m: ShardMessage) => process.send?.(m);
const resources = env.RESOURCES.split(",");
const tls = env.TLS_CERT && env.TLS_KEY ? { cert: env.TLS_CERT, key: env.TLS_KEY } : undefined;
const sim = await KubeSim.start({
  tokens: ["bench"],
  historyLimit: 100_000,
  bookmarkIntervalMs: 60_000,
  ...(tls ? { tls, http2: true } : {}),
});
const name = (local: number) => `c${env.FIRST + local}`;
const objectName = (o: number) => ({ namespace: `ns${o % 3}`, name: `o${o}` });

for (let c = 0; c < env.COUNT; c++) {
  const cluster = sim.cluster(name(c));
  for (const r of resources)
    for (let o = 0; o < env.OBJECTS; o++) cluster.create(r, { metadata: objectName(o), data: { v: "0" } });
}

/**
 * Changes as fast as kube-sim takes them, spread over every cluster and resource like
 * watcher-bench's: change i goes to cluster i mod COUNT, then the next resource, then the next object.
 */
async function change(changes: number, offset: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < changes; i++) {
    const cluster = sim.cluster(name(i % env.COUNT));
    const r = resources[Math.floor(i / env.COUNT) % resources.length] as string;
    const o = Math.floor(i / (env.COUNT * resources.length)) % env.OBJECTS;
    // The whole object with new data: an update without a resourceVersion replaces it.
    cluster.update(r, { metadata: objectName(o), data: { v: String(offset + i) } });
    if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return (performance.now() - start) / 1000;
}

process.on("message", (raw) => {
  const command = CommandSchema.parse(raw);
  if (command.op === "stop") {
    void sim.stop().then(() => process.exit(0));
    return;
  }
  void change(command.changes, command.offset).then((seconds) => send({ op: "changed", seconds }));
});
send({ op: "ready", url: sim.url });
