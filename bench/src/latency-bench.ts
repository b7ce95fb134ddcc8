// Change → delivery latency through the whole stack: kube-sim (in this process) → watcher process
// → NATS JetStream → dispatcher process → a receiver in its own process. First the maximum rate:
// RAMP_CHANGES changes written as fast as kube-sim takes them, until the last version of every
// object has arrived. Then STEADY_SECONDS of changes paced at SHARE (default 20%) of that rate,
// spread over every cluster and object, each one's latency from its write to its arrival, split at
// the watcher's publish (the JetStream message timestamp). `npm run bench:latency -w @mcic/bench`.
import { fork, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Envelope,
  Registry,
  SecretBox,
  ensureEventsStream,
  eventsStreamName,
  generateWebhookSecret,
  sealContext,
} from "@mcic/core";
import { startNats, startRedis, waitFor } from "@mcic/core/testing";
import { KubeSim } from "@mcic/test/kube-sim";
import { type ServiceProcess, scrapeMetric, startService } from "@mcic/test/support";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import type { ReceiverMessage } from "./latency-receiver.js";
import { processStats } from "./process-stats.js";
import { type BenchRow, percentile, writeResults } from "./results.js";

const CLUSTERS = Number(process.env.CLUSTERS ?? 4);
const OBJECTS = Number(process.env.OBJECTS ?? 50);
const RAMP_CHANGES = Number(process.env.RAMP_CHANGES ?? 6000);
const STEADY_SECONDS = Number(process.env.STEADY_SECONDS ?? 20);
const SHARE = Number(process.env.SHARE ?? 0.2);
/** Pace at this many changes/s instead of SHARE of the ramp's rate (the ramp still runs: it warms up). */
const RATE = process.env.RATE ? Number(process.env.RATE) : undefined;
const RESOURCE = "v1/configmaps";
const here = dirname(fileURLToPath(import.meta.url));
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

const nats = await startNats();
const redisServer = await startRedis();
const sim = await KubeSim.start({ tokens: ["bench"], historyLimit: 100_000, bookmarkIntervalMs: 60_000 });
const key = randomBytes(32);
const box = new SecretBox(key);
const redis = new Redis(redisServer.url);
const registry = new Registry({ redis, prefix: "mcic" });
const nc = await connect({ servers: nats.url, noAsyncTraces: true });
await ensureEventsStream(nc, { prefix: "mcic", replicas: 1 });
const jsm = await jetstreamManager(nc);
const stream = eventsStreamName("mcic");

// The receiver, its arrivals keyed by webhook-id (the envelope id: cluster/uid/rv/type).
const receiver = fork(join(here, "latency-receiver.js"), { stdio: ["ignore", "inherit", "inherit", "ipc"] });
const arrivals = new Map<string, number>();
const port = await new Promise<number>((resolve) =>
  receiver.on("message", (m: ReceiverMessage) => {
    if ("port" in m) resolve(m.port);
    else for (const [id, at] of m.arrivals) if (!arrivals.has(id)) arrivals.set(id, at);
  }),
);

const now = new Date().toISOString();
const objects: { cluster: string; name: string }[] = [];
for (let c = 0; c < CLUSTERS; c++) {
  const name = `c${c}`;
  const cluster = sim.cluster(name);
  for (let o = 0; o < OBJECTS; o++) {
    cluster.create(RESOURCE, { metadata: { namespace: "bench", name: `o${o}` }, data: { v: "0" } });
    objects.push({ cluster: name, name: `o${o}` });
  }
  await registry.createCluster({
    name,
    resources: [RESOURCE],
    source: "server",
    credentials: box.seal(
      JSON.stringify({ server: cluster.url, token: "bench" }),
      sealContext.clusterCredentials(name),
    ),
    createdAt: now,
    updatedAt: now,
  });
}
await registry.createServer({
  name: "receiver",
  url: `http://127.0.0.1:${port}/hook`,
  filters: {},
  headers: box.seal("{}", sealContext.serverHeaders("receiver")),
  secret: box.seal(generateWebhookSecret(), sealContext.serverSecret("receiver")),
  includeSecretData: false,
  snapshot: false,
  enabled: true,
  payload: "full",
  includeManagedFields: false,
  disableAfterSeconds: 432_000,
  retry: {},
  createdAt: now,
  updatedAt: now,
});

const env = {
  NATS_URL: nats.url,
  REDIS_URL: redisServer.url,
  MCIC_SECRET_KEY: key.toString("base64"),
  METRICS_PORT: "0",
  LOG_LEVEL: "info",
};
const nodeArgs = (name: string) => (process.env[`${name.toUpperCase()}_NODE_ARGS`] ?? "").split(" ").filter(Boolean);
const watcher = startService("watcher", env, nodeArgs("watcher"));
const dispatcher = startService("dispatcher", env, nodeArgs("dispatcher"));
const services: ServiceProcess[] = [watcher, dispatcher];
async function shutdown(): Promise<void> {
  await Promise.all(services.map((s) => s.kill("SIGTERM")));
  // For reading --trace-gc or other node flags' output after the run (LINES_DIR=/tmp/x).
  if (process.env.LINES_DIR) {
    for (const s of services) writeFileSync(join(process.env.LINES_DIR, `${s.name}.log`), `${s.lines.join("\n")}\n`);
  }
  receiver.disconnect();
  await nc.close();
  redis.disconnect();
  await sim.stop();
  await Promise.all([nats.stop(), redisServer.stop()]);
}
const failed = async (err: unknown): Promise<never> => {
  for (const s of services) console.error(`${s.name}:\n${s.lines.slice(-15).join("\n")}`);
  await shutdown().catch((e: unknown) => console.error(`shutting down after the failure failed too: ${e}`));
  throw err;
};
await Promise.all(services.map((s) => s.waitForLog("ready", 60_000))).catch(failed);
// The initial list of every object reaches the receiver (ADDED, or snapshot events).
await waitFor(() => arrivals.size >= objects.length, { timeoutMs: 120_000, message: "initial sync" }).catch(failed);

let seq = 0;
/** Writes a new version of object i (round robin over clusters and objects); returns its envelope id. */
function change(i: number): string {
  const o = objects[i % objects.length] as (typeof objects)[number];
  const written = sim
    .cluster(o.cluster)
    .update(RESOURCE, { metadata: { namespace: "bench", name: o.name }, data: { v: String(++seq) } });
  return `${o.cluster}/${written.metadata.uid}/${written.metadata.resourceVersion}/MODIFIED`;
}

// 1. The maximum rate: changes written as fast as kube-sim takes them; done when the newest
// version of every object has arrived (older ones may be superseded on the way, by design).
let maxRate = 0;
{
  const newest = new Map<number, string>();
  const start = nowUs();
  for (let i = 0; i < RAMP_CHANGES; i++) {
    newest.set(i % objects.length, change(i));
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  const last = [...newest.values()];
  await waitFor(() => last.every((id) => arrivals.has(id)), {
    timeoutMs: 300_000,
    intervalMs: 20,
    message: "the newest version of every object",
  }).catch(failed);
  const end = Math.max(...last.map((id) => arrivals.get(id) as number));
  maxRate = RAMP_CHANGES / ((end - start) / 1e6);
  console.log(
    `maximum rate: ${RAMP_CHANGES} changes in ${((end - start) / 1e6).toFixed(2)} s = ${maxRate.toFixed(0)} changes/s`,
  );
}

// 2. Steady changes at SHARE of it.
const rate = RATE ?? maxRate * SHARE;
const count = Math.round(rate * STEADY_SECONDS);
const firstSeq = (await jsm.streams.info(stream)).state.last_seq + 1;
// prom-client's event-loop lag resets at each scrape: scraped now, the next scrape covers the run.
const lag = (s: ServiceProcess) => scrapeMetric(s, "nodejs_eventloop_lag_max_seconds");
const gcSeconds = (s: ServiceProcess) => scrapeMetric(s, "nodejs_gc_duration_seconds_sum");
const gcBefore = await Promise.all(services.map(gcSeconds));
await Promise.all(services.map(lag));
const cpuBefore = services.map((s) => processStats(s.child.pid as number).cpuSeconds);
// This process mostly sleeps between writes: how late its timers fire is the wait for a core that
// every hop of a change (kube-sim, watcher, NATS, dispatcher, receiver) also pays on this machine.
const ownDelay = monitorEventLoopDelay({ resolution: 1 });
ownDelay.enable();
const written = new Map<string, number>();
const steadyStart = nowUs();
for (let i = 0; i < count; i++) {
  const due = steadyStart + (i * 1e6) / rate;
  const wait = due - nowUs();
  if (wait > 1000) await new Promise((r) => setTimeout(r, Math.floor(wait / 1000)));
  const at = nowUs();
  written.set(change(i), at);
}
const writeSeconds = (nowUs() - steadyStart) / 1e6;
ownDelay.disable();
const ownDelayMs = { p50: ownDelay.percentile(50) / 1e6, p99: ownDelay.percentile(99) / 1e6, max: ownDelay.max / 1e6 };
await waitFor(() => [...written.keys()].every((id) => arrivals.has(id)), {
  timeoutMs: 60_000,
  intervalMs: 20,
  message: "every steady change delivered",
}).catch(async () => {
  const missing = [...written.keys()].filter((id) => !arrivals.has(id)).length;
  console.error(`${missing} of ${count} steady changes not delivered within 60 s`);
});
const cpu = services.map((s, i) => processStats(s.child.pid as number).cpuSeconds - (cpuBefore[i] as number));
const lagMax = await Promise.all(services.map(lag));
const gc = (await Promise.all(services.map(gcSeconds))).map((v, i) => v - (gcBefore[i] as number));

// Stage split at the JetStream message timestamp (wall clock, nanoseconds), put on the monotonic clock.
const wallOffsetUs = Date.now() * 1000 - nowUs();
const publishedAt = new Map<string, number>();
const lastSeq = (await jsm.streams.info(stream)).state.last_seq;
const js = jetstream(nc);
const ordered = await js.consumers.get(stream, { opt_start_seq: firstSeq });
const messages = await ordered.consume();
let sampleBody: Uint8Array = new Uint8Array();
for await (const m of messages) {
  sampleBody = m.data;
  publishedAt.set(m.json<Envelope>().id, m.info.timestampNanos / 1000 - wallOffsetUs);
  if (m.seq >= lastSeq) break;
}

// 3. The floor of the published -> delivery hop on this machine now: the same bodies at the same
// pace through JetStream, a minimal relay process (consume, POST, ack) and the same receiver.
await jsm.streams.add({ name: "FLOOR", subjects: ["floor.>"] });
const relay = spawn(
  process.execPath,
  [join(here, "latency-floor-relay.js"), nats.url, "FLOOR", `http://127.0.0.1:${port}/floor`],
  {
    stdio: ["ignore", "pipe", "inherit"],
  },
);
await new Promise<void>((resolve, reject) => {
  relay.stdout.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
  relay.once("exit", (code) => reject(new Error(`floor relay exited with ${code}`)));
});
const floorSent = new Map<string, number>();
const floorAcks: Promise<unknown>[] = [];
const floorStart = nowUs();
for (let i = 0; i < count; i++) {
  const due = floorStart + (i * 1e6) / rate;
  const wait = due - nowUs();
  if (wait > 1000) await new Promise((r) => setTimeout(r, Math.floor(wait / 1000)));
  const id = `floor/${i}`;
  floorSent.set(id, nowUs());
  floorAcks.push(js.publish("floor.x", sampleBody, { msgID: id }));
}
await Promise.all(floorAcks);
await waitFor(() => [...floorSent.keys()].every((id) => arrivals.has(id)), {
  timeoutMs: 60_000,
  intervalMs: 20,
  message: "every floor message delivered",
}).catch(() => console.error("floor relay: not every message arrived within 60 s"));
relay.kill("SIGTERM");
const floor = [...floorSent].flatMap(([id, at]) => {
  const arrived = arrivals.get(id);
  return arrived === undefined ? [] : [(arrived - at) / 1000];
});

const total: number[] = [];
const toPublish: number[] = [];
const toArrival: number[] = [];
for (const [id, at] of written) {
  const arrived = arrivals.get(id);
  if (arrived === undefined) continue;
  total.push((arrived - at) / 1000);
  const published = publishedAt.get(id);
  if (published !== undefined) {
    toPublish.push((published - at) / 1000);
    toArrival.push((arrived - published) / 1000);
  }
}
const fmt = (v: number[]) =>
  `p50 ${percentile(v, 50).toFixed(1)}  p90 ${percentile(v, 90).toFixed(1)}  p99 ${percentile(v, 99).toFixed(1)}  max ${Math.max(...v).toFixed(1)} ms`;
const worst = [...written]
  .map(([id, at]) => ({ id, ms: ((arrivals.get(id) ?? at) - at) / 1000 }))
  .sort((a, b) => b.ms - a.ms)
  .slice(0, 5);
console.log(
  `steady: ${count} changes at ${rate.toFixed(0)}/s (${((rate / maxRate) * 100).toFixed(0)}% of ${maxRate.toFixed(0)}/s), written in ${writeSeconds.toFixed(1)} s; delivered ${total.length}`,
);
console.log(`change -> delivery     ${fmt(total)}`);
console.log(`change -> published    ${fmt(toPublish)}`);
console.log(`published -> delivery ${fmt(toArrival)}`);
console.log(`floor: publish -> minimal relay -> receiver  ${fmt(floor)}`);
for (const [i, s] of services.entries()) {
  console.log(
    `${s.name.padEnd(10)} CPU ${(((cpu[i] as number) * 1e6) / count).toFixed(0)} µs/change, event-loop lag max ${((lagMax[i] as number) * 1000).toFixed(1)} ms, GC ${((gc[i] as number) * 1000).toFixed(0)} ms`,
  );
}
console.log(
  `bench process (kube-sim, pacing) timer lateness: p50 ${ownDelayMs.p50.toFixed(1)}  p99 ${ownDelayMs.p99.toFixed(1)}  max ${ownDelayMs.max.toFixed(1)} ms; load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
console.log(`slowest: ${worst.map((w) => `${w.id} ${w.ms.toFixed(1)} ms`).join("; ")}`);

const cpuUsPer = Object.fromEntries(services.map((s, i) => [s.name, ((cpu[i] as number) * 1e6) / count]));
const rows: BenchRow[] = [
  {
    part: "latency",
    label: "maximum change rate (ramp)",
    role: "mcic",
    rate: maxRate,
    unit: "changes/s",
    note: `${RAMP_CHANGES} changes as fast as kube-sim takes them, until the newest version of each arrived`,
  },
  {
    part: "latency",
    label: `change -> delivery at ${((rate / maxRate) * 100).toFixed(0)}% of max`,
    role: "mcic",
    rate,
    unit: "changes/s",
    cpuUsPer,
    p50Ms: percentile(total, 50),
    p99Ms: percentile(total, 99),
    note:
      `p90 ${percentile(total, 90).toFixed(1)} ms, max ${Math.max(...total).toFixed(1)} ms; ` +
      `change->published p99 ${percentile(toPublish, 99).toFixed(1)} ms, published->delivery p99 ${percentile(toArrival, 99).toFixed(1)} ms; ` +
      `bench process timer lateness p99 ${ownDelayMs.p99.toFixed(1)} ms, max ${ownDelayMs.max.toFixed(1)} ms; load ${(loadavg()[0] ?? 0).toFixed(1)}; ` +
      `event-loop lag max ${services.map((s, i) => `${s.name} ${((lagMax[i] as number) * 1000).toFixed(0)} ms`).join(", ")}`,
  },
  {
    part: "latency",
    label: "floor: JetStream -> minimal relay -> receiver, same pace",
    role: "baseline",
    rate,
    unit: "messages/s",
    p50Ms: percentile(floor, 50),
    p99Ms: percentile(floor, 99),
    note: `the published -> delivery hop without mcic's work; mcic's p99 of that hop is ${(percentile(toArrival, 99) / percentile(floor, 99)).toFixed(1)}x it`,
  },
];
console.log(
  `wrote ${writeResults("latency", rows, [
    {
      name: `p99 change -> delivery <= 25 ms at ${((rate / maxRate) * 100).toFixed(0)}% of the maximum rate`,
      value: percentile(total, 99),
      limit: 25,
      comparison: "<=",
      unit: "ms",
    },
  ])}`,
);
await shutdown();
