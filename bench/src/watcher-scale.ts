// One watcher at 5,000 clusters x 4 resources (20,000 watches): RSS after the initial sync and at
// its peak, initial sync time, CPU per event and events/s in a change phase. kube-sim runs in
// SHARDS processes of its own (see kube-sim-shard.ts). `npm run bench:scale -w @mcic/bench`
// (CLUSTERS=5000 OBJECTS=3 CHANGES=20000 SHARDS=4; HEAP_SNAPSHOT=<dir> writes a heap snapshot
// of the watcher at the end, for heap-summary.ts). kube-sim serves HTTPS with HTTP/2 as API
// servers do; PROTOCOL=http1 serves plain HTTP/1.1 like watcher-bench (one connection per watch).
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sealContext } from "@mcic/core";
import { freePort, waitFor } from "@mcic/core/testing";
import { selfSignedCert, startService } from "@mcic/test/support";
import type { ShardMessage } from "./kube-sim-shard.js";
import { mb, processStats } from "./process-stats.js";
import { type BenchRow, type BenchTarget, writeResults } from "./results.js";
import { logSummary } from "./watch-shortfall.js";
import { startBenchBackends } from "./bench-backends.js";

const CLUSTERS = Number(process.env.CLUSTERS ?? 5000);
const OBJECTS = Number(process.env.OBJECTS ?? 3);
const CHANGES = Number(process.env.CHANGES ?? 20_000);
const SHARDS = Math.min(CLUSTERS, Number(process.env.SHARDS ?? 4));
const RESOURCES = ["networking.k8s.io/v1/ingresses", "v1/services", "v1/configmaps", "v1/secrets"].slice(
  0,
  Number(process.env.RESOURCES ?? 4),
);
const WATCHES = CLUSTERS * RESOURCES.length;
const PROTOCOL = process.env.PROTOCOL === "http1" ? "http1" : "http2";
const certificate = PROTOCOL === "http2" ? selfSignedCert() : undefined;
const here = dirname(fileURLToPath(import.meta.url));

interface Shard {
  child: ChildProcess;
  url: string;
  first: number;
  count: number;
}

/** The shard's next message, or its exit as an error. */
function nextMessage(child: ChildProcess): Promise<ShardMessage> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`kube-sim shard exited with ${code}`));
    child.once("exit", onExit);
    child.once("message", (m) => {
      child.off("exit", onExit);
      resolve(m as ShardMessage);
    });
  });
}

async function startShard(first: number, count: number): Promise<Shard> {
  const child = fork(join(here, "kube-sim-shard.js"), [], {
    env: {
      ...process.env,
      FIRST: String(first),
      COUNT: String(count),
      RESOURCES: RESOURCES.join(","),
      OBJECTS: String(OBJECTS),
      ...(certificate ? { TLS_CERT: certificate.cert, TLS_KEY: certificate.key } : {}),
    },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = await nextMessage(child);
  if (ready.op !== "ready") throw new Error(`kube-sim shard answered ${ready.op} before ready`);
  return { child, url: ready.url, first, count };
}

console.log(
  `seeding ${CLUSTERS} clusters x ${RESOURCES.length} resources x ${OBJECTS} objects in ${SHARDS} kube-sim processes`,
);
const perShard = Math.ceil(CLUSTERS / SHARDS);
const shards = await Promise.all(
  Array.from({ length: SHARDS }, (_, s) => startShard(s * perShard, Math.min(perShard, CLUSTERS - s * perShard))),
);
const backends = await startBenchBackends();
const { box, registry, streamMessages } = backends;

const now = new Date().toISOString();
for (const shard of shards) {
  const names = Array.from({ length: shard.count }, (_, i) => `c${shard.first + i}`);
  await Promise.all(
    names.map((name) =>
      registry.createCluster({
        name,
        resources: RESOURCES,
        source: "server",
        credentials: box.seal(
          JSON.stringify({
            server: `${shard.url}/clusters/${name}`,
            token: "bench",
            ...(certificate ? { caData: certificate.cert } : {}),
          }),
          sealContext.clusterCredentials(name),
        ),
        createdAt: now,
        updatedAt: now,
      }),
    ),
  );
}

const snapshotDir = process.env.HEAP_SNAPSHOT ? resolve(process.env.HEAP_SNAPSHOT) : undefined;
if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
const metricsPort = await freePort();
const watcher = startService(
  "watcher",
  {
    ...backends.serviceEnv,
    METRICS_PORT: String(metricsPort),
    LOG_LEVEL: "warn",
    // One connection per cluster, not per watch: 20,000 watches over HTTP/1.1 exceed the fd limit.
    WATCH_HTTP2: "true",
    // LEASE_TTL_MS=<ms> lengthens the lease when a starved machine answers renewals late.
    ...(process.env.LEASE_TTL_MS ? { LEASE_TTL_MS: process.env.LEASE_TTL_MS } : {}),
  },
  [
    // Room to show what it takes rather than die at a limit: the target is measured, not enforced.
    "--max-old-space-size=4096",
    ...(snapshotDir ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapshotDir}`] : []),
    ...(process.env.WATCHER_NODE_ARGS ?? "").split(" ").filter(Boolean),
  ],
);
const pid = watcher.child.pid as number;
let peakRss = 0;
/** RSS now, remembered as the peak when it is one. */
const sampleRss = () => {
  const { rss } = processStats(pid);
  peakRss = Math.max(peakRss, rss);
  return rss;
};
function rssTarget(): BenchTarget {
  return {
    name: `${CLUSTERS} clusters x ${RESOURCES.length} resources in one watcher: peak RSS`,
    value: peakRss / 2 ** 20,
    limit: 1024,
    comparison: "<=",
    unit: "MiB",
  };
}
const openFds = () => readdirSync(`/proc/${pid}/fd`).length;

async function shutdown(): Promise<void> {
  await watcher.kill("SIGTERM");
  await Promise.all(
    shards.map(async (s) => {
      if (s.child.exitCode !== null) return;
      const exited = new Promise((resolve) => s.child.once("exit", resolve));
      s.child.send({ op: "stop" });
      await exited;
    }),
  );
  await backends.stop();
}
const failed = async (err: unknown): Promise<never> => {
  console.error(logSummary(watcher.lines, 10).join("\n"));
  // What was reached goes to the report all the same: a run that does not finish is a result.
  const published = await streamMessages().catch(() => -1);
  const restarts = watcher.lines.filter((l) => l.includes('"watch failed"')).length;
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(0);
  writeResults(
    "watcher-scale",
    [
      {
        part: "watcher scale",
        label: `mcic, ${CLUSTERS} clusters x ${RESOURCES.length} resources (${PROTOCOL === "http2" ? "HTTPS, HTTP/2" : "HTTP/1.1"})`,
        role: "mcic",
        rssMb: peakRss / 2 ** 20,
        note: `did not finish (${(err as Error).message}) after ${seconds} s: ${published} events stored, ${restarts} watch restarts`,
      },
    ],
    [rssTarget()],
  );
  await shutdown().catch((e: unknown) => console.error(`shutting down after the failure failed too: ${e}`));
  throw err;
};

const initial = WATCHES * OBJECTS;
const syncStart = performance.now();
const startedAt = syncStart;
await waitFor(
  async () => {
    sampleRss();
    return (await streamMessages()) >= initial;
  },
  { timeoutMs: Number(process.env.SYNC_TIMEOUT_MS ?? 900_000), intervalMs: 500, message: "initial sync" },
).catch(failed);
const syncSeconds = (performance.now() - syncStart) / 1000;
await waitFor(
  async () => {
    sampleRss();
    const statuses = await Promise.all(Array.from({ length: CLUSTERS }, (_, c) => registry.clusterStatus(`c${c}`)));
    return statuses.flat().filter((s) => s.state === "watching").length === WATCHES;
  },
  { timeoutMs: 300_000, intervalMs: 1000, message: "all watches open" },
).catch(failed);
const openSeconds = (performance.now() - syncStart) / 1000;
const afterSync = sampleRss();
const syncPeak = peakRss;
const memory = await heapFigures();
const fdsAfterSync = openFds();
console.log(
  `initial sync: ${initial} objects in ${syncSeconds.toFixed(1)} s, all ${WATCHES} watches open after ${openSeconds.toFixed(1)} s; ` +
    `watcher RSS ${mb(afterSync)} (peak so far ${mb(syncPeak)}), ${fdsAfterSync} open fds`,
);

// Changes spread over every cluster and resource, each shard taking its share as fast as it can.
const before = await streamMessages();
const cpuBefore = processStats(pid).cpuSeconds;
const changeStart = performance.now();
const produced = Promise.all(
  shards.map((s, i) => {
    const changes = Math.floor(CHANGES / SHARDS) + (i < CHANGES % SHARDS ? 1 : 0);
    const answer = nextMessage(s.child);
    s.child.send({ op: "change", changes, offset: i * CHANGES });
    return answer;
  }),
);
await waitFor(
  async () => {
    sampleRss();
    return (await streamMessages()) >= before + CHANGES;
  },
  { timeoutMs: Number(process.env.CHANGES_TIMEOUT_MS ?? 600_000), intervalMs: 50, message: "changes published" },
).catch(failed);
const changeSeconds = (performance.now() - changeStart) / 1000;
const cpu = processStats(pid).cpuSeconds - cpuBefore;
const producerSeconds = Math.max(...(await produced).map((m) => (m.op === "changed" ? m.seconds : 0)));
const rate = CHANGES / changeSeconds;
const cpuPerEvent = (cpu * 1e6) / CHANGES;

/** Heap, external memory and RSS as the watcher's own /metrics reports them. */
async function heapFigures(): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const figures: Record<string, number> = {};
  for (const name of ["nodejs_heap_size_used_bytes", "nodejs_heap_size_total_bytes", "nodejs_external_memory_bytes"]) {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, "m").exec(text);
    if (m) figures[name] = Number(m[1]);
  }
  return figures;
}

const perWatch = (bytes: number) => `${(bytes / WATCHES / 1024).toFixed(1)} KiB per watch`;
console.log("");
console.log(`clusters x resources           ${CLUSTERS} x ${RESOURCES.length} = ${WATCHES} watches (${PROTOCOL})`);
console.log(
  `watcher RSS after sync / peak  ${mb(afterSync)} / ${mb(peakRss)}   (target < 1024 MiB); ${perWatch(afterSync)}`,
);
console.log(
  `heap used / total, external    ${mb(memory.nodejs_heap_size_used_bytes ?? 0)} / ${mb(memory.nodejs_heap_size_total_bytes ?? 0)}, ${mb(memory.nodejs_external_memory_bytes ?? 0)} (after sync)`,
);
console.log(
  `initial sync                   ${syncSeconds.toFixed(1)} s (${initial} objects), every watch open at ${openSeconds.toFixed(1)} s`,
);
console.log(
  `watcher CPU during changes     ${cpu.toFixed(1)} s for ${CHANGES} changes (${((cpu / changeSeconds) * 100).toFixed(0)}% of one core)`,
);
console.log(`watcher CPU per event          ${cpuPerEvent.toFixed(0)} us`);
console.log(`watcher events/s               ${rate.toFixed(0)}`);
console.log(`kube-sim changes applied/s     ${(CHANGES / producerSeconds).toFixed(0)}   (${SHARDS} processes)`);
const restarts = watcher.lines.filter((l) => l.includes('"watch failed"')).length;
console.log(`watch restarts during the run  ${restarts}`);
if (watcher.lines.length > 0)
  console.log(["watcher log at warn and above:", ...logSummary(watcher.lines, 5)].join("\n"));

const rows: BenchRow[] = [
  {
    part: "watcher scale",
    label: `mcic, ${CLUSTERS} clusters x ${RESOURCES.length} resources (${PROTOCOL === "http2" ? "HTTPS, HTTP/2" : "HTTP/1.1"})`,
    role: "mcic",
    rate,
    unit: "events/s",
    cpuUsPer: { watcher: cpuPerEvent },
    rssMb: peakRss / 2 ** 20,
    note: `RSS after sync ${mb(afterSync)}, ${fdsAfterSync} open fds, initial sync of ${initial} objects ${syncSeconds.toFixed(1)} s, ${restarts} watch restarts`,
  },
];
const file = writeResults("watcher-scale", rows, [rssTarget()]);
console.log(`results in ${file}`);

if (snapshotDir) {
  // The watcher's main thread writes the snapshot and answers nothing meanwhile: done once the
  // file is there and /metrics answers again.
  watcher.child.kill("SIGUSR2");
  const snapshot = await waitFor(
    async () => {
      const name = readdirSync(snapshotDir).find((f) => f.endsWith(".heapsnapshot") && f.includes(`.${pid}.`));
      if (!name || statSync(join(snapshotDir, name)).size === 0) return undefined;
      await heapFigures();
      return join(snapshotDir, name);
    },
    { timeoutMs: 600_000, intervalMs: 2000, message: "heap snapshot written" },
  ).catch(failed);
  console.log(`heap snapshot: ${snapshot} (node bench/dist/src/heap-summary.js ${snapshot})`);
}
await shutdown();
