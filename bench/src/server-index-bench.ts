// Matching one event against 10, 1,000 and 10,000 registered servers with mixed filters: the
// linear scan (every server's compiled filters) against the dispatcher's matching index, in the
// same run; then the reload path (Redis read, secrets opened, filters compiled, index built) at
// 10,000 servers: its time, the longest event-loop stall during it, and the heap it holds.
// `npm run bench:server-index -w @mcic/bench` (SIZES=10,1000,10000 by default).
import { randomBytes } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import {
  type Envelope,
  type ServerFilters,
  Registry,
  SecretBox,
  compileFilters,
  createLogger,
  envelopeId,
} from "@mcic/core";
import { startRedis, storedServer } from "@mcic/core/testing";
import { MatchingIndex } from "@mcic/dispatcher/matching-index";
import { ServerIndex } from "@mcic/dispatcher/server-index";
import { Redis } from "ioredis";
import { type BenchRow, type BenchTarget, writeResults } from "./results.js";

const SIZES = (process.env.SIZES ?? "10,1000,10000").split(",").map(Number);
const RELOAD_SERVERS = Number(process.env.RELOAD_SERVERS ?? 10_000);
/** Wildcard servers (no cluster, namespace or resource filter): every event runs their filters. */
const WILDCARD = Number(process.env.WILDCARD ?? 2);
const RESOURCES = [
  { group: "", version: "v1", resource: "pods", kind: "Pod" },
  { group: "apps", version: "v1", resource: "deployments", kind: "Deployment" },
  { group: "networking.k8s.io", version: "v1", resource: "ingresses", kind: "Ingress" },
  { group: "", version: "v1", resource: "configmaps", kind: "ConfigMap" },
];
const QUALIFIED = ["v1/pods", "apps/v1/deployments", "networking.k8s.io/v1/ingresses", "v1/configmaps"];

/**
 * Server i of n: most are a tenant's (its own cluster or namespace, some also a resource, a tenth
 * with a CEL expression as well), some follow one resource everywhere with a CEL expression,
 * and WILDCARD of them filter on CEL only. Clusters and namespaces: one per 2 servers.
 */
function filtersOf(i: number, n: number): ServerFilters {
  if (i >= n - WILDCARD) return { expression: `object.metadata.name == "audit-s${i}"` };
  const tenant = `t${Math.floor(i / 2)}`;
  const cel = i % 10 === 3 ? { expression: 'event.type != "DELETED"' } : {};
  const resource = QUALIFIED[i % QUALIFIED.length] as string;
  switch (i % 5) {
    case 0:
      return { clusters: [tenant], ...cel };
    case 1:
      return { clusters: [tenant], resources: [resource], ...cel };
    case 2:
      return { namespaces: [tenant], ...cel };
    case 3:
      return { clusters: [tenant], namespaces: [tenant, "default"], resources: [resource], ...cel };
    default:
      // A resource followed in every cluster, narrowed by an expression.
      return { resources: [`example.com/v1/widgets${i % 50}`], expression: `object.metadata.name == "w${i}"` };
  }
}

function event(cluster: string, namespace: string | undefined, r: number, name: string, n: number): Envelope {
  const res = RESOURCES[r % RESOURCES.length] as (typeof RESOURCES)[number];
  return {
    id: envelopeId(cluster, `u${n}`, "1", "MODIFIED"),
    cluster,
    ...res,
    ...(namespace === undefined ? {} : { namespace }),
    name,
    uid: `u${n}`,
    resourceVersion: "1",
    type: "MODIFIED",
    observedAt: new Date().toISOString(),
    object: { metadata: { name, ...(namespace === undefined ? {} : { namespace }), labels: { app: "web" } } },
  };
}

/** An event only server 0 (a cluster-pinned tenant's, without an expression) matches. */
const oneMatch = (): Envelope => event("t0", "only-here", 0, "x", 0);

/** Events spread over the population's clusters and namespaces, resources and "default". */
function typicalEvents(n: number, count: number): Envelope[] {
  const tenants = Math.max(1, Math.floor(n / 2));
  return Array.from({ length: count }, (_, k) => {
    const t = `t${(k * 7919) % tenants}`;
    const other = `t${(k * 104_729 + 1) % tenants}`;
    const namespace = k % 4 === 0 ? "default" : k % 4 === 1 ? other : k % 4 === 2 ? t : "kube-system";
    return event(k % 3 === 0 ? other : t, namespace, k, `w${k % 97}`, k);
  });
}

interface Item {
  filters: ServerFilters;
  matches: (e: Envelope) => boolean;
}

function population(n: number): Item[] {
  return Array.from({ length: n }, (_, i) => {
    const filters = filtersOf(i, n);
    return { filters, matches: compileFilters(filters) };
  });
}

/** Mean ns per event of match over the events, repeated for at least minMs. */
function nsPerEvent(match: (e: Envelope) => unknown, events: Envelope[], minMs = 400): number {
  for (const e of events) match(e); // warm up (JIT, inline caches)
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (const e of events) match(e);
    calls += events.length;
    elapsed = performance.now() - start;
  }
  return (elapsed * 1e6) / calls;
}

const rows: BenchRow[] = [];
const perSize = new Map<number, { oneIndex: number; oneScan: number }>();
// A first pass over every size only warms up (the JIT, the CEL evaluator): otherwise the first
// size measured pays for it and looks dearer than the larger ones.
for (const [pass, n] of [...SIZES.map((n) => [0, n]), ...SIZES.map((n) => [1, n])] as [number, number][]) {
  if (pass === 0) {
    const items = population(n);
    const index = new MatchingIndex(items, (s) => s.filters);
    for (const e of [oneMatch(), ...typicalEvents(n, 200)]) {
      nsPerEvent((x) => index.match(x), [e], 2);
      nsPerEvent((x) => items.filter((s) => s.matches(x)), [e], 2);
    }
    continue;
  }
  const items = population(n);
  const index = new MatchingIndex(items, (s) => s.filters);
  const scan = (e: Envelope) => items.filter((s) => s.matches(e));
  const one = [oneMatch()];
  const typical = typicalEvents(n, 200);
  const oneCount = index.match(one[0] as Envelope).length;
  if (oneCount !== 1 || scan(one[0] as Envelope).length !== 1) throw new Error(`one-match event matched ${oneCount}`);
  for (const e of typical) {
    if (index.match(e).length !== scan(e).length) throw new Error("index and scan disagree");
  }
  const meanMatches = typical.reduce((sum, e) => sum + index.match(e).length, 0) / typical.length;
  const figures = {
    oneScan: nsPerEvent(scan, one),
    oneIndex: nsPerEvent((e) => index.match(e), one),
    typicalScan: nsPerEvent(scan, typical),
    typicalIndex: nsPerEvent((e) => index.match(e), typical),
  };
  perSize.set(n, { oneIndex: figures.oneIndex, oneScan: figures.oneScan });
  const note = `${n} servers (${WILDCARD} unpinned)`;
  rows.push(
    {
      part: "server index",
      label: `linear scan, ${n} servers, 1-match event`,
      role: "baseline",
      nsPerEvent: figures.oneScan,
      note,
    },
    {
      part: "server index",
      label: `index, ${n} servers, 1-match event`,
      role: "mcic",
      nsPerEvent: figures.oneIndex,
      note,
    },
    {
      part: "server index",
      label: `linear scan, ${n} servers, typical events`,
      role: "baseline",
      nsPerEvent: figures.typicalScan,
      note: `${note}; ${meanMatches.toFixed(1)} matches/event`,
    },
    {
      part: "server index",
      label: `index, ${n} servers, typical events`,
      role: "mcic",
      nsPerEvent: figures.typicalIndex,
      note: `${note}; ${meanMatches.toFixed(1)} matches/event`,
    },
  );
  console.log(
    `${String(n).padStart(6)} servers  1-match: scan ${figures.oneScan.toFixed(0)} ns, index ${figures.oneIndex.toFixed(0)} ns` +
      `  typical (${meanMatches.toFixed(1)} matches): scan ${figures.typicalScan.toFixed(0)} ns, index ${figures.typicalIndex.toFixed(0)} ns`,
  );
}

// The reload path: what a server change costs the dispatcher at RELOAD_SERVERS servers.
const redisServer = await startRedis();
const redis = new Redis(redisServer.url);
const subscriber = new Redis(redisServer.url);
const registry = new Registry({ redis, prefix: "mcic" });
const box = new SecretBox(randomBytes(32));
const stored = (i: number) =>
  storedServer(box, `s${i}`, `http://127.0.0.1:9/s${i}`, { filters: filtersOf(i, RELOAD_SERVERS) });
for (let i = 0; i < RELOAD_SERVERS; i += 200) {
  await Promise.all(
    Array.from({ length: Math.min(200, RELOAD_SERVERS - i) }, (_, k) => registry.createServer(stored(i + k))),
  );
}
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const serverIndex = new ServerIndex({
  registry,
  subscriber,
  box,
  logger: createLogger({ name: "bench", level: "warn" }),
});
await serverIndex.start();
gc?.();
const heapHeld = process.memoryUsage().heapUsed - heapBefore;
if (serverIndex.names().length !== RELOAD_SERVERS) throw new Error(`index holds ${serverIndex.names().length} servers`);

const reloads: { ms: number; stallMs: number }[] = [];
for (let run = 0; run < 3; run++) {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const start = performance.now();
  await serverIndex.reload();
  const ms = performance.now() - start;
  delay.disable();
  reloads.push({ ms, stallMs: delay.max / 1e6 });
}
const listStart = performance.now();
await registry.listServers();
const listMs = performance.now() - listStart;
serverIndex.stop();
const reloadMs = Math.min(...reloads.map((r) => r.ms));
const stallMs = Math.max(...reloads.map((r) => r.stallMs));
console.log(
  `reload at ${RELOAD_SERVERS} servers: ${reloads.map((r) => `${r.ms.toFixed(0)} ms (stall ${r.stallMs.toFixed(0)} ms)`).join(", ")}; ` +
    `listServers alone ${listMs.toFixed(0)} ms; heap held ${(heapHeld / 1024 / 1024).toFixed(1)} MiB${gc ? "" : " (no --expose-gc: rough)"}`,
);
rows.push({
  part: "server index",
  label: `reload, ${RELOAD_SERVERS} servers`,
  role: "mcic",
  p50Ms: reloadMs,
  rssMb: heapHeld / 1024 / 1024,
  note: `longest event-loop stall ${stallMs.toFixed(0)} ms; Redis list read alone ${listMs.toFixed(0)} ms; heap held by the index (MiB) in rssMb`,
});

const small = perSize.get(Math.min(...SIZES));
const large = perSize.get(Math.max(...SIZES));
const targets: BenchTarget[] =
  small && large
    ? [
        {
          name: `matching at ${Math.max(...SIZES)} servers <= 5x the cost at ${Math.min(...SIZES)}, event matching one server`,
          value: large.oneIndex / small.oneIndex,
          limit: 5,
          comparison: "<=",
          unit: "x",
        },
      ]
    : [];
for (const t of targets) console.log(`${t.name}: ${t.value.toFixed(2)}x (limit ${t.limit}x)`);
console.log(`wrote ${writeResults("server-index", rows, targets)}`);
await redis.quit();
await subscriber.quit();
await redisServer.kill("SIGTERM");
