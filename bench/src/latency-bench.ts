// Change → delivery latency through the whole stack: kube-sim (in this process) → watcher process
// → NATS JetStream → dispatcher process → a receiver in its own process. First the maximum rate:
// RAMP_CHANGES changes written as fast as kube-sim takes them, until the last version of every
// object has arrived. Then STEADY_SECONDS of changes paced at SHARE (default 20%) of that rate,
// spread over every cluster and object, each one's latency from its write to its arrival, split at
// the watcher's publish (the JetStream message timestamp). `npm run bench:latency -w @mcic/bench`.
import { type ChildProcess, fork, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { eventsStreamName, sealContext } from "@mcic/core";
import { storedServer, waitFor } from "@mcic/core/testing";
import { KubeSim } from "@mcic/test/kube-sim";
import { type ServiceProcess, scrapeMetric, startService } from "@mcic/test/support";
import { jetstream } from "@nats-io/jetstream";
import type { ReceiverMessage } from "./latency-receiver.js";
import { processStats } from "./process-stats.js";
import { type BenchRow, percentile, writeResults } from "./results.js";
import { startBenchBackends } from "./bench-backends.js";

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

const backends = await startBenchBackends();
const { nats, box, registry, nc, jsm } = backends;
const sim = await KubeSim.start({ tokens: ["bench"], historyLimit: 100_000, bookmarkIntervalMs: 60_000 });
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
await registry.createServer(storedServer(box, "receiver", `http://127.0.0.1:${port}/hook`));

const env = {
  ...backends.serviceEnv,
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
  await sim.stop();
  await backends.stop();
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

/** Calls write(i) count times, the i-th at start + i/rate; returns when each was called (µs). */
async function paced(count: number, rate: number, write: (i: number) => string): Promise<Map<string, number>> {
  const at = new Map<string, number>();
  const start = nowUs();
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1e6) / rate - nowUs();
    if (wait > 1000) await new Promise((r) => setTimeout(r, Math.floor(wait / 1000)));
    const before = nowUs();
    at.set(write(i), before);
  }
  return at;
}

/**
 * The JetStream timestamp (wall clock, put on the monotonic clock) of each message of a stream
 * from firstSeq on, by the id idOf reads from it.
 */
async function publishTimes(
  name: string,
  firstSeq: number,
  idOf: (m: { data: Uint8Array; headers?: { get(k: string): string } }) => string,
): Promise<{ at: Map<string, number> }> {
  const wallOffsetUs = Date.now() * 1000 - nowUs();
  const at = new Map<string, number>();
  const lastSeq = (await jsm.streams.info(name)).state.last_seq;
  if (lastSeq < firstSeq) return { at };
  const ordered = await jetstream(nc).consumers.get(name, { opt_start_seq: firstSeq });
  for await (const m of await ordered.consume()) {
    at.set(idOf(m), m.info.timestampNanos / 1000 - wallOffsetUs);
    if (m.seq >= lastSeq) break;
  }
  return { at };
}

/** Starts a floor process (bench/dist/src/<script>) and waits for its "ready". */
async function startFloor(script: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(here, script), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return child;
}

// Floors, one per hop, at the same pace at the same time (so on the same machine load): for
// published -> delivery, the same bodies through JetStream, a minimal relay process (consume,
// POST, ack) and the same receiver; for change -> published, kube-sim writes to a cluster mcic does
// not watch, published by a minimal watcher process (one watch, parse, js.publish).
const js = jetstream(nc);
const sampleBody = (await jsm.streams.getMessage(stream, { last_by_subj: "mcic.events.>" }))?.data ?? new Uint8Array();
await jsm.streams.add({ name: "FLOOR", subjects: ["floor.>"] });
const relay = await startFloor("latency-floor-relay.js", [nats.url, "FLOOR", `http://127.0.0.1:${port}/floor`]);
const floorCluster = sim.cluster("floor");
for (let o = 0; o < OBJECTS; o++) {
  floorCluster.create(RESOURCE, { metadata: { namespace: "bench", name: `o${o}` }, data: { v: "0" } });
}
await jsm.streams.add({ name: "FLOORW", subjects: ["floorw.>"] });
const floorWatch = await startFloor("latency-floor-watch.js", [
  floorCluster.url,
  "bench",
  "bench",
  nats.url,
  "floorw.x",
]);
const floorAcks: Promise<unknown>[] = [];
const relayFloor = (i: number) => {
  floorAcks.push(js.publish("floor.x", sampleBody, { msgID: `floor/${i}` }));
  return `floor/${i}`;
};
const watchFloor = (i: number) => {
  const w = floorCluster.update(RESOURCE, {
    metadata: { namespace: "bench", name: `o${i % OBJECTS}` },
    data: { v: String(++seq) },
  });
  return `${w.metadata.uid}/${w.metadata.resourceVersion}`;
};

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
const steadyStart = nowUs();
const [written, floorSent, floorWritten] = await Promise.all([
  paced(count, rate, change),
  paced(count, rate, relayFloor),
  paced(count, rate, watchFloor),
]);
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

// Stage split at the JetStream message timestamp.
const publishedAt = (await publishTimes(stream, firstSeq, (m) => String(m.headers?.get("Nats-Msg-Id")))).at;
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
await waitFor(async () => (await jsm.streams.info("FLOORW")).state.messages >= count, {
  timeoutMs: 60_000,
  intervalMs: 20,
  message: "every floor change published",
}).catch(() => console.error("floor watch: not every change published within 60 s"));
floorWatch.kill("SIGTERM");
const floorPublished = (await publishTimes("FLOORW", 1, (m) => String(m.headers?.get("Nats-Msg-Id")))).at;
const floorWatchMs = [...floorWritten].flatMap(([id, at]) => {
  const published = floorPublished.get(id);
  return published === undefined ? [] : [(published - at) / 1000];
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
console.log(`floor: change -> minimal watcher -> published  ${fmt(floorWatchMs)}`);
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
    label: "floor: kube-sim -> minimal watcher -> JetStream, same pace",
    role: "baseline",
    rate,
    unit: "changes/s",
    p50Ms: percentile(floorWatchMs, 50),
    p99Ms: percentile(floorWatchMs, 99),
    note: `the change -> published hop without mcic's work; mcic's p99 of that hop is ${(percentile(toPublish, 99) / percentile(floorWatchMs, 99)).toFixed(1)}x it`,
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
