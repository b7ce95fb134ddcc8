import { type Envelope, StreamPublisher, eventSubject, eventsStreamName, sealContext } from "@mcic/core";
import { freePort, waitFor } from "@mcic/core/testing";
import { KubeSim } from "@mcic/test/kube-sim";
import { jetstream } from "@nats-io/jetstream";
import { startService } from "@mcic/test/support";
import { childPid, mb, processStats } from "./process-stats.js";
import { writeResults } from "./results.js";
import { explainShortfall, logSummary, watchKey } from "./watch-shortfall.js";
import { startBenchBackends } from "./bench-backends.js";

const CLUSTERS = Number(process.env.CLUSTERS ?? 1000);
const OBJECTS = Number(process.env.OBJECTS ?? 5);
const CHANGES = Number(process.env.CHANGES ?? 20_000);
const RESOURCES = ["networking.k8s.io/v1/ingresses", "v1/services", "v1/configmaps", "v1/secrets"].slice(
  0,
  Number(process.env.RESOURCES ?? 4),
);

const backends = await startBenchBackends();
const { nats, box, redis, registry, nc, jsm, streamMessages } = backends;
const sim = await KubeSim.start({ tokens: ["bench"], historyLimit: 100_000, bookmarkIntervalMs: 60_000 });

console.log(`seeding ${CLUSTERS} clusters x ${RESOURCES.length} resources x ${OBJECTS} objects`);
const now = new Date().toISOString();
for (let c = 0; c < CLUSTERS; c++) {
  const name = `c${c}`;
  const cluster = sim.cluster(name);
  for (const r of RESOURCES) {
    for (let o = 0; o < OBJECTS; o++)
      cluster.create(r, { metadata: { namespace: `ns${o % 3}`, name: `o${o}` }, data: { v: "0" } });
  }
  await registry.createCluster({
    name,
    resources: RESOURCES,
    source: "server",
    credentials: box.seal(
      JSON.stringify({ server: cluster.url, token: "bench" }),
      sealContext.clusterCredentials(name),
    ),
    createdAt: now,
    updatedAt: now,
  });
}

const metricsPort = await freePort();
const watcher = startService(
  "watcher",
  {
    ...backends.serviceEnv,
    METRICS_PORT: String(metricsPort),
    LOG_LEVEL: "warn",
    // A longer lease keeps a CPU-starved run (a shared machine) from fencing and replaying watches,
    // which then measures lease churn rather than the cost of an event; unset, the default (15 s).
    ...(process.env.LEASE_TTL_MS ? { LEASE_TTL_MS: process.env.LEASE_TTL_MS } : {}),
    NODE_OPTIONS: "--max-old-space-size=1024",
  },
  (process.env.WATCHER_NODE_ARGS ?? "").split(" ").filter(Boolean),
);
const pid = watcher.child.pid as number;
const natsPid = childPid(["nats-server", String(new URL(nats.url).port)]);
/** nats-server's CPU seconds so far (0 when its process was not found). */
const natsCpu = () => (natsPid === undefined ? 0 : processStats(natsPid).cpuSeconds);
/** Stops every process the benchmark started; a failed wait calls it before it throws. */
async function shutdown(): Promise<void> {
  await watcher.kill("SIGTERM");
  await sim.stop();
  await backends.stop();
}
const failed = async (err: unknown): Promise<never> => {
  await shutdown().catch((e: unknown) => console.error(`shutting down after the failure failed too: ${e}`));
  throw err;
};
const initial = CLUSTERS * RESOURCES.length * OBJECTS;
const syncStart = performance.now();
await waitFor(async () => (await streamMessages()) >= initial, {
  timeoutMs: Number(process.env.SYNC_TIMEOUT_MS ?? 600_000),
  intervalMs: 250,
  message: "initial sync",
}).catch((err) => {
  console.error(watcher.lines.slice(-20).join("\n"));
  return failed(err);
});
const syncSeconds = (performance.now() - syncStart) / 1000;
await waitFor(
  async () => {
    const statuses = await Promise.all(Array.from({ length: CLUSTERS }, (_, c) => registry.clusterStatus(`c${c}`)));
    return statuses.flat().filter((s) => s.state === "watching").length === CLUSTERS * RESOURCES.length;
  },
  { timeoutMs: 120_000, intervalMs: 500, message: "all watches open" },
).catch(failed);
const afterSync = processStats(pid);
console.log(`initial sync: ${initial} objects in ${syncSeconds.toFixed(1)} s; watcher RSS ${mb(afterSync.rss)}`);

// Steady changes, as fast as kube-sim takes them, spread over every cluster and resource.
const before = await streamMessages();
const cpuBefore = processStats(pid).cpuSeconds;
const natsBefore = natsCpu();
const producerStart = process.cpuUsage();
const changeStart = performance.now();
const monoStart = process.hrtime.bigint() / 1000n;
let peakRss = afterSync.rss;
const made = new Map<string, number>();
for (let i = 0; i < CHANGES; i++) {
  const cluster = sim.cluster(`c${i % CLUSTERS}`);
  const r = RESOURCES[Math.floor(i / CLUSTERS) % RESOURCES.length] as string;
  made.set(watchKey(cluster.name, r), (made.get(watchKey(cluster.name, r)) ?? 0) + 1);
  const o = `o${Math.floor(i / (CLUSTERS * RESOURCES.length)) % OBJECTS}`;
  // The whole object as seeded, with new data: an update without a resourceVersion replaces it
  // (no read and copy first, so that kube-sim, sharing the machine, takes less of it).
  cluster.update(r, { metadata: { namespace: `ns${Number(o.slice(1)) % 3}`, name: o }, data: { v: String(i) } });
  if (i % 500 === 0) {
    await new Promise((resolve) => setImmediate(resolve));
    peakRss = Math.max(peakRss, processStats(pid).rss);
  }
}
const producedSeconds = (performance.now() - changeStart) / 1000;
await waitFor(
  async () => {
    peakRss = Math.max(peakRss, processStats(pid).rss);
    return (await streamMessages()) >= before + CHANGES;
  },
  { timeoutMs: Number(process.env.CHANGES_TIMEOUT_MS ?? 600_000), intervalMs: 50, message: "changes published" },
).catch(async (err) => {
  const lines = await explainShortfall({
    prefix: "mcic",
    resources: RESOURCES,
    initialPerWatch: OBJECTS,
    made,
    jsm,
    registry,
    redis,
    sim,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    watcherLines: watcher.lines,
  });
  console.error(lines.join("\n"));
  return failed(err);
});
const watcherSeconds = (performance.now() - changeStart) / 1000;
if (process.env.PRINT_PHASE)
  console.log(`change phase (monotonic us): ${monoStart} ${process.hrtime.bigint() / 1000n}`);
const cpu = processStats(pid).cpuSeconds - cpuBefore;
const natsCpuDuring = natsCpu() - natsBefore;
// kube-sim and this process's polling, which share the machine with the watcher.
const producerCpu = process.cpuUsage(producerStart);
const watcherRate = CHANGES / watcherSeconds;

// Baselines: the same number of envelopes of the same size, published straight to JetStream,
// pipelined 256 deep, with the NATS client's own `js.publish` and with the StreamPublisher the
// watcher uses. Each runs twice; the faster run counts, so noise can only flatter the baseline.
const sample = (
  await jsm.streams.getMessage(eventsStreamName("mcic"), { last_by_subj: "mcic.events.>" })
)?.json<Envelope>();
const js = jetstream(nc);
const streamPublisher = new StreamPublisher(nc, { timeoutMs: 30_000 });
interface RawRun {
  rate: number;
  /** CPU µs per event of this process (the publishing loop) and of nats-server. */
  cpuUs: number;
  natsCpuUs: number;
}
async function rawRun(tag: string, lean: boolean): Promise<RawRun> {
  const cpuStart = process.cpuUsage();
  const natsStart = natsCpu();
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const e = { ...(sample as Envelope), id: `raw/${tag}/${i}`, resourceVersion: String(i) };
    const subject = eventSubject("mcic", e);
    pending.push(
      lean
        ? streamPublisher.publish(subject, JSON.stringify(e), e.id)
        : js.publish(subject, JSON.stringify(e), { msgID: e.id }),
    );
    if (pending.length >= 256) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const cpu = process.cpuUsage(cpuStart);
  return {
    rate: CHANGES / ((performance.now() - start) / 1000),
    cpuUs: (cpu.user + cpu.system) / CHANGES,
    natsCpuUs: ((natsCpu() - natsStart) * 1e6) / CHANGES,
  };
}
/** Two runs; the higher rate and the lower CPU count, so noise can only flatter the baseline. */
const best = (a: RawRun, b: RawRun): RawRun => ({
  rate: Math.max(a.rate, b.rate),
  cpuUs: Math.min(a.cpuUs, b.cpuUs),
  natsCpuUs: Math.min(a.natsCpuUs, b.natsCpuUs),
});
const raw = best(await rawRun("a", false), await rawRun("b", false));
const lean = best(await rawRun("c", true), await rawRun("d", true));
streamPublisher.close();

const watcherCpuPerEvent = (cpu * 1e6) / CHANGES;
const natsCpuPerEvent = (natsCpuDuring * 1e6) / CHANGES;
const producerCpuPerEvent = (producerCpu.user + producerCpu.system) / CHANGES;
const us = (n: number) => `${n.toFixed(0)} us`;
const pct = (n: number) => `${(n * 100).toFixed(0)}%`;
console.log("");
console.log(
  `clusters x resources           ${CLUSTERS} x ${RESOURCES.length} = ${CLUSTERS * RESOURCES.length} watches`,
);
console.log(`watcher RSS after sync / peak  ${mb(afterSync.rss)} / ${mb(peakRss)}   (target < 512 MB)`);
console.log(
  `watcher CPU during changes     ${cpu.toFixed(1)} s for ${CHANGES} changes (${((cpu / watcherSeconds) * 100).toFixed(0)}% of one core)`,
);
console.log(`watcher events/s               ${watcherRate.toFixed(0)}`);
console.log(
  `kube-sim changes applied/s     ${(CHANGES / producedSeconds).toFixed(0)}   (the producer, in this process: ${us(producerCpuPerEvent)} CPU per change)`,
);
console.log(`raw JetStream publish/s        ${raw.rate.toFixed(0)}`);
console.log(`ratio watcher / raw            ${pct(watcherRate / raw.rate)}   (target >= 50%)`);
console.log(`raw StreamPublisher publish/s  ${lean.rate.toFixed(0)}   (the publisher the watcher uses)`);
console.log(`ratio watcher / StreamPublisher ${pct(watcherRate / lean.rate)}`);
console.log(
  `CPU per event: watcher / raw   ${us(watcherCpuPerEvent)} / ${us(raw.cpuUs)} (${(watcherCpuPerEvent / raw.cpuUs).toFixed(2)}x, target <= 1.5x; raw StreamPublisher ${us(lean.cpuUs)})`,
);
console.log(
  `nats-server CPU per event      ${us(natsCpuPerEvent)} with the watcher, ${us(raw.natsCpuUs)} raw js.publish, ${us(lean.natsCpuUs)} raw StreamPublisher`,
);

const failures = watcher.lines.filter((l) => l.includes('"watch failed"'));
console.log(`watch restarts during the run    ${failures.length}`);
// Fenced publishes (a lease renewal answered late) and leases lost in Redis show here by reason.
if (watcher.lines.length > 0)
  console.log(["watcher log at warn and above:", ...logSummary(watcher.lines, 5)].join("\n"));
if (process.env.DUMP_LINES) console.log(watcher.lines.filter((l) => !l.startsWith("{")).join("\n"));
await shutdown();

const restarts = failures.length;
const file = writeResults(
  "watcher",
  [
    {
      part: "watcher",
      label: "raw StreamPublisher (ceiling)",
      role: "ceiling",
      rate: lean.rate,
      unit: "events/s",
      shareOfCeiling: 1,
      cpuUsPer: { publisher: lean.cpuUs, nats: lean.natsCpuUs },
      note: "the same envelopes, pipelined 256 deep, best of two runs",
    },
    {
      part: "watcher",
      label: "raw js.publish",
      role: "baseline",
      rate: raw.rate,
      unit: "events/s",
      shareOfCeiling: raw.rate / lean.rate,
      cpuUsPer: { publisher: raw.cpuUs, nats: raw.natsCpuUs },
      note: "the NATS client's own publish, pipelined 256 deep, best of two runs",
    },
    {
      part: "watcher",
      label: `mcic watcher, ${CLUSTERS * RESOURCES.length} watches`,
      role: "mcic",
      rate: watcherRate,
      unit: "events/s",
      shareOfCeiling: watcherRate / lean.rate,
      cpuUsPer: { watcher: watcherCpuPerEvent, nats: natsCpuPerEvent, "kube-sim": producerCpuPerEvent },
      rssMb: peakRss / 1024 / 1024,
      note: `kube-sim applied ${(CHANGES / producedSeconds).toFixed(0)} changes/s on the same cores; ${restarts} watch restarts`,
    },
  ],
  [
    {
      name: "watcher CPU per event <= 1.5x raw js.publish's",
      value: watcherCpuPerEvent / raw.cpuUs,
      limit: 1.5,
      comparison: "<=",
      unit: "x",
    },
    {
      name: "watcher events/s >= 50% of raw js.publish",
      value: watcherRate / raw.rate,
      limit: 0.5,
      comparison: ">=",
    },
  ],
);
console.log(`results written to ${file}`);
