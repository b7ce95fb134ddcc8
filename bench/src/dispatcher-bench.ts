// End-to-end deliveries/s and latency for fan-out to 1, 10 and 100 servers, against raw undici
// POSTs of the same bodies to the same receiver in the same run.
// `npm run bench:dispatcher -w @mcic/bench` (DELIVERIES=20000 per fan-out by default).
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
import { processStats } from "./process-stats.js";

const DELIVERIES = Number(process.env.DELIVERIES ?? 20_000);
const FANOUTS = (process.env.FANOUTS ?? "1,10,100").split(",").map(Number);

const nats = await startNats();
const redisServer = await startRedis();
const key = randomBytes(32);
const box = new SecretBox(key);
const redis = new Redis(redisServer.url);
const registry = new Registry({ redis, prefix: "mcic" });
const events = await EventPublisher.connect(nats.url);
await ensureEventsStream(events.nc, { prefix: "mcic", replicas: 1 });

// The receiver: answers 204 and notes when each delivery arrived.
const arrivals: { id: string; at: number }[] = [];
const receiver = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    arrivals.push({ id: String(req.headers["webhook-id"]), at: performance.now() });
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

async function registerServers(fanout: number): Promise<void> {
  for (const name of await redis.smembers(registry.keys.servers)) await registry.deleteServer(name);
  const now = new Date().toISOString();
  for (let i = 0; i < fanout; i++) {
    await registry.createServer({
      name: `s${i}`,
      url: `${base}/s${i}`,
      filters: { clusters: [`bench${fanout}`] },
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
  // Wait until the dispatcher delivers a probe to every server.
  let probe = 0;
  await waitFor(
    async () => {
      arrivals.length = 0;
      await events.publish([ingressEnvelope(`bench${fanout}`, "probe", ++probe)]);
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

async function throughMcic(fanout: number): Promise<Result & { cpu: number }> {
  await registerServers(fanout);
  const count = Math.max(1, Math.round(DELIVERIES / fanout));
  const envelopes = Array.from({ length: count }, (_, i) => ingressEnvelope(`bench${fanout}`, `o${i}`, i + 1));
  const sentAt = new Map<string, number>();
  arrivals.length = 0;
  const cpuBefore = processStats(dispatcher.child.pid as number).cpuSeconds;
  const start = performance.now();
  for (let i = 0; i < envelopes.length; i += 500) {
    const chunk = envelopes.slice(i, i + 500);
    for (const e of chunk) sentAt.set(e.id, performance.now());
    await events.publish(chunk);
  }
  await waitFor(() => arrivals.length >= count * fanout, {
    timeoutMs: 300_000,
    intervalMs: 5,
    message: "all deliveries",
  });
  const elapsed = (performance.now() - start) / 1000;
  const cpu = processStats(dispatcher.child.pid as number).cpuSeconds - cpuBefore;
  const latencies = arrivals.map((a) => a.at - (sentAt.get(a.id) ?? a.at));
  return { rate: (count * fanout) / elapsed, p50: pct(latencies, 50), p99: pct(latencies, 99), cpu };
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

console.log("fan-out | mcic deliveries/s  p50 ms  p99 ms  CPU s | raw undici POST/s  p50 ms  p99 ms | ratio");
for (const fanout of FANOUTS) {
  const raw = await rawUndici(fanout);
  const mcic = await throughMcic(fanout);
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

await dispatcher.kill("SIGTERM");
await events.close();
redis.disconnect();
receiver.close();
await Promise.all([nats.stop(), redisServer.stop()]);
