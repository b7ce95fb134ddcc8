// End-to-end deliveries/s and latency for fan-out to 1, 10 and 100 servers, against raw undici
// POSTs of the same bodies to the same receiver in the same run; then 100 servers with CEL filter
// expressions against the same 100 servers without them (cel-scenarios.ts).
// `npm run bench:dispatcher -w @mcic/bench` (DELIVERIES=20000 per fan-out by default;
// MODE=fanout or MODE=cel runs one part only).
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  Registry,
  SecretBox,
  ensureEventsStream,
  generateWebhookSecret,
  signWebhook,
  toCloudEvent,
  webhookKey,
  sealContext,
} from "@mcic/core";
import { startNats, startRedis, waitFor } from "@mcic/core/testing";
import { EventPublisher, ingressEnvelope, startService } from "@mcic/test/support";
import { Redis } from "ioredis";
import { Pool } from "undici";
import { type CelScenario, celComparisons, matchMicros } from "./cel-scenarios.js";
import { processStats } from "./process-stats.js";

const DELIVERIES = Number(process.env.DELIVERIES ?? 20_000);
const FANOUTS = (process.env.FANOUTS ?? "1,10,100").split(",").map(Number);
const MODE = process.env.MODE ?? "all";

const nats = await startNats();
const redisServer = await startRedis();
const key = randomBytes(32);
const box = new SecretBox(key);
const redis = new Redis(redisServer.url);
const registry = new Registry({ redis, prefix: "mcic" });
const events = await EventPublisher.connect(nats.url);
await ensureEventsStream(events.nc, { prefix: "mcic", replicas: 1 });

// The receiver: answers 204 and notes when each delivery of the current run arrived; late
// deliveries of an earlier run or probe are not counted.
const arrivals: { id: string; at: number }[] = [];
let wanted = new Set<string>();
const receiver = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const id = String(req.headers["webhook-id"]);
    if (wanted.has(id)) arrivals.push({ id, at: performance.now() });
    res.writeHead(204).end();
  });
});
receiver.keepAliveTimeout = 60_000;
await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

const dispatcher = startService(
  "dispatcher",
  {
    NATS_URL: nats.url,
    REDIS_URL: redisServer.url,
    MCIC_SECRET_KEY: key.toString("base64"),
    METRICS_PORT: "0",
    LOG_LEVEL: "info",
  },
  (process.env.DISPATCHER_NODE_ARGS ?? "").split(" ").filter(Boolean),
);
await dispatcher.waitForLog("ready");

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

type Scenario = CelScenario;

function fanoutScenario(fanout: number): Scenario {
  const events = Math.max(1, Math.round(DELIVERIES / fanout));
  const cluster = `bench${fanout}`;
  return {
    cluster,
    servers: fanout,
    filters: () => ({ clusters: [cluster] }),
    envelope: (n) => ingressEnvelope(cluster, n === 0 ? "probe" : `o${n - 1}`, n),
    events,
    deliveries: events * fanout,
  };
}

async function registerServers(sc: Scenario): Promise<void> {
  for (const name of await redis.smembers(registry.keys.servers)) await registry.deleteServer(name);
  const now = new Date().toISOString();
  for (let i = 0; i < sc.servers; i++) {
    await registry.createServer({
      name: `s${i}`,
      url: `${base}/s${i}`,
      filters: sc.filters(i),
      headers: box.seal("{}", sealContext.serverHeaders(`s${i}`)),
      secret: box.seal(generateWebhookSecret(), sealContext.serverSecret(`s${i}`)),
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
  }
  // Wait until the dispatcher delivers a probe to every server (each probe a new version).
  const fanout = sc.servers;
  let probe = 0;
  await waitFor(
    async () => {
      arrivals.length = 0;
      const e = sc.envelope(0);
      const rv = String(1_000_000 + ++probe);
      const id = `${e.cluster}/${e.uid}/${rv}/${e.type}`;
      wanted = new Set([id]);
      await events.publish([{ ...e, id, resourceVersion: rv }]);
      await waitFor(() => arrivals.length >= fanout || undefined, { timeoutMs: 2000 }).catch(() => undefined);
      return arrivals.length >= fanout;
    },
    { timeoutMs: 30_000, message: `dispatcher to know ${fanout} servers` },
  );
  await waitFor(() => arrivals.length >= fanout, { timeoutMs: 5000 });
}

interface Result {
  rate: number;
  p50: number;
  p99: number;
}

async function throughMcic(sc: Scenario): Promise<Result & { cpu: number }> {
  await registerServers(sc);
  const envelopes = Array.from({ length: sc.events }, (_, i) => sc.envelope(i + 1));
  const sentAt = new Map<string, number>();
  wanted = new Set(envelopes.map((e) => e.id));
  arrivals.length = 0;
  const cpuBefore = processStats(dispatcher.child.pid as number).cpuSeconds;
  const start = performance.now();
  for (let i = 0; i < envelopes.length; i += 500) {
    const chunk = envelopes.slice(i, i + 500);
    for (const e of chunk) sentAt.set(e.id, performance.now());
    await events.publish(chunk);
  }
  await waitFor(() => arrivals.length >= sc.deliveries, {
    timeoutMs: 300_000,
    intervalMs: 5,
    message: "all deliveries",
  });
  const elapsed = (performance.now() - start) / 1000;
  const cpu = processStats(dispatcher.child.pid as number).cpuSeconds - cpuBefore;
  const latencies = arrivals.map((a) => a.at - (sentAt.get(a.id) ?? a.at));
  return { rate: sc.deliveries / elapsed, p50: pct(latencies, 50), p99: pct(latencies, 99), cpu };
}

async function rawUndici(fanout: number): Promise<Result> {
  const count = Math.max(1, Math.round(DELIVERIES / fanout)) * fanout;
  const pool = new Pool(base, { connections: 64 });
  const k = webhookKey(generateWebhookSecret());
  const bodies = Array.from({ length: count }, (_, i) => {
    const ce = toCloudEvent(ingressEnvelope("raw", `o${i}`, i + 1), { includeSecretData: false });
    return { id: ce.id, body: JSON.stringify(ce) };
  });
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 256 }, async () => {
      while (next < bodies.length) {
        const b = bodies[next++] as { id: string; body: string };
        const t = performance.now();
        const ts = Math.floor(Date.now() / 1000);
        const res = await pool.request({
          path: "/raw",
          method: "POST",
          body: b.body,
          headers: {
            "content-type": "application/cloudevents+json",
            "webhook-id": b.id,
            "webhook-timestamp": String(ts),
            "webhook-signature": signWebhook(k, b.id, ts, b.body),
          },
        });
        await res.body.dump();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  return { rate: count / elapsed, p50: pct(latencies, 50), p99: pct(latencies, 99) };
}

if (MODE !== "cel") {
  console.log("fan-out | mcic deliveries/s  p50 ms  p99 ms  CPU s | raw undici POST/s  p50 ms  p99 ms | ratio");
  for (const fanout of FANOUTS) {
    const raw = await rawUndici(fanout);
    const mcic = await throughMcic(fanoutScenario(fanout));
    console.log(
      [
        String(fanout).padStart(7),
        `${mcic.rate.toFixed(0).padStart(18)}  ${mcic.p50.toFixed(0).padStart(6)}  ${mcic.p99.toFixed(0).padStart(6)}  ${mcic.cpu.toFixed(1).padStart(5)}`,
        `${raw.rate.toFixed(0).padStart(17)}  ${raw.p50.toFixed(1).padStart(6)}  ${raw.p99.toFixed(1).padStart(6)}`,
        `${((mcic.rate / raw.rate) * 100).toFixed(0)}%`,
      ].join(" | "),
    );
  }
  console.log("targets: >= 50% of raw at fan-out 10, >= 30% at fan-out 1");
}

if (MODE !== "fanout") {
  console.log(
    "\n100 servers | without expressions: deliveries/s  CPU µs/event | with CEL: deliveries/s  CPU µs/event | ratio (rate, CPU)",
  );
  for (const { label, plain, cel } of celComparisons(Number(process.env.CEL_EVENTS ?? 2000))) {
    // Alternated, twice each, so drift on the shared machine hits both sides alike.
    const runs: Record<"plain" | "cel", { elapsed: number; cpu: number; deliveries: number; events: number }> = {
      plain: { elapsed: 0, cpu: 0, deliveries: 0, events: 0 },
      cel: { elapsed: 0, cpu: 0, deliveries: 0, events: 0 },
    };
    for (let round = 0; round < 2; round++) {
      for (const [side, sc] of [
        ["plain", plain(round)],
        ["cel", cel(round)],
      ] as const) {
        const r = await throughMcic(sc);
        const acc = runs[side];
        acc.elapsed += sc.deliveries / r.rate;
        acc.cpu += r.cpu;
        acc.deliveries += sc.deliveries;
        acc.events += sc.events;
      }
    }
    const rate = (s: "plain" | "cel") => runs[s].deliveries / runs[s].elapsed;
    const cpuPerEvent = (s: "plain" | "cel") => (runs[s].cpu / runs[s].events) * 1e6;
    console.log(
      [
        label.padEnd(11),
        `${rate("plain").toFixed(0).padStart(33)}  ${cpuPerEvent("plain").toFixed(0).padStart(12)}`,
        `${rate("cel").toFixed(0).padStart(21)}  ${cpuPerEvent("cel").toFixed(0).padStart(12)}`,
        `${((rate("cel") / rate("plain")) * 100).toFixed(0)}%, ${((cpuPerEvent("cel") / cpuPerEvent("plain")) * 100).toFixed(0)}%`,
      ].join(" | "),
    );
    const [plainMatch, celMatch] = [matchMicros(plain(9)), matchMicros(cel(9))];
    console.log(
      `${"".padEnd(11)} | matching one event against the 100 servers' filters: ${plainMatch.toFixed(1)} µs without, ` +
        `${celMatch.toFixed(1)} µs with CEL (+${(((celMatch - plainMatch) / cpuPerEvent("plain")) * 100).toFixed(2)}% of the dispatcher's CPU per event)`,
    );
  }
  console.log("target: with CEL within 20% of without (rate ratio >= 80%)");
}

await dispatcher.kill("SIGTERM");
await events.close();
redis.disconnect();
receiver.close();
await Promise.all([nats.stop(), redisServer.stop()]);
