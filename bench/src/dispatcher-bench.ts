// The dispatcher against honest ceilings, all in one run (docs/benchmarks.md "Dispatcher"):
// for each fan-out, "raw POST (ceiling)", "minimal loop (baseline)" and mcic deliver the same
// events to the same receiver, each sender and the receiver in a process of its own; then 1 and 3
// dispatcher replicas on one backlog. `npm run bench:dispatcher -w @mcic/bench`.
//   DELIVERIES=20000 per fan-out (fan-out 100: half), FANOUTS=1,10,100, REPLICAS=1,3,
//   REPLICA_DELIVERIES=30000; MODE=fanout|replicas|cel|all (default fanout and replicas; cel: 100
//   servers with and without CEL filters, cel-scenarios.ts, printed only);
//   DISPATCHER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the dispatchers,
//   LOOP_NODE_ARGS the minimal loop; COMPARE_MAIN=<another tree>/services/dispatcher/dist/main.js
//   adds a row per fan-out for that build of the dispatcher (printed only), to compare two builds
//   in one run.
import { randomBytes } from "node:crypto";
import {
  type Envelope,
  Registry,
  SecretBox,
  ensureEventsStream,
  envelopeId,
  eventsStreamName,
  generateWebhookSecret,
} from "@mcic/core";
import { startNats, startRedis } from "@mcic/core/testing";
import { EventPublisher, type ServiceProcess, ingressEnvelope, startService } from "@mcic/test/support";
import { Redis } from "ioredis";
import { type CelScenario, celComparisons, matchMicros } from "./cel-scenarios.js";
import { childPid } from "./cpu-meter.js";
import { type DeliveryRun, measureDeliveries, publishTimed } from "./delivery-run.js";
import { epochMs } from "./ipc.js";
import { awaitDispatcherKnows, registerServers } from "./mcic-servers.js";
import { MinimalLoopProcess } from "./minimal-loop-process.js";
import { RawPostProcess } from "./raw-post.js";
import { BenchReceiver } from "./receiver.js";
import { type ReplicaRun, measureReplicas } from "./replicas.js";
import { type BenchRow, type BenchTarget, writeResults } from "./results.js";

const DELIVERIES = Number(process.env.DELIVERIES ?? 20_000);
const FANOUTS = (process.env.FANOUTS ?? "1,10,100").split(",").map(Number);
const REPLICAS = (process.env.REPLICAS ?? "1,3").split(",").map(Number);
const REPLICA_DELIVERIES = Number(process.env.REPLICA_DELIVERIES ?? 30_000);
const MODE = process.env.MODE ?? "fanout,replicas";
const runs = (part: string) => MODE === "all" || MODE.split(",").includes(part);
const nodeArgs = (name: string) => (process.env[name] ?? "").split(" ").filter(Boolean);
/** What both the raw client and the minimal loop use, as mcic's sender does (64 per origin). */
const CONNECTIONS = 64;
const IN_FLIGHT = 256;

const nats = await startNats();
const redisServer = await startRedis();
const pids = { nats: childPid("nats-server"), redis: childPid("redis-server") };
const key = randomBytes(32);
const box = new SecretBox(key);
const redis = new Redis(redisServer.url);
const registry = new Registry({ redis, prefix: "mcic" });
const events = await EventPublisher.connect(nats.url);
await ensureEventsStream(events.nc, { prefix: "mcic", replicas: 1 });
// The minimal loop reads a stream of the same shape under its own prefix: mcic's dispatcher
// never sees (nor spends CPU on) the loop's events.
const loopEvents = await EventPublisher.connect(nats.url, "loop");
await ensureEventsStream(loopEvents.nc, { prefix: "loop", replicas: 1 });
const receiver = await BenchReceiver.start();

const dispatcherEnv = {
  NATS_URL: nats.url,
  REDIS_URL: redisServer.url,
  MCIC_SECRET_KEY: key.toString("base64"),
  METRICS_PORT: "0",
  LOG_LEVEL: "info",
};
/**
 * The one dispatcher running (the replicas part starts its own): this tree's build, or the one at
 * COMPARE_MAIN. Node runs the first script it is given, so that one goes before startService's.
 */
let dispatcher: ServiceProcess | undefined;
let dispatcherMain: string | undefined;
async function useDispatcher(main?: string): Promise<ServiceProcess> {
  if (dispatcher && dispatcherMain === main) return dispatcher;
  await dispatcher?.kill("SIGTERM");
  dispatcher = startService("dispatcher", dispatcherEnv, [
    ...nodeArgs("DISPATCHER_NODE_ARGS"),
    ...(main ? [main] : []),
  ]);
  dispatcherMain = main;
  await dispatcher.waitForLog("ready", 60_000);
  return dispatcher;
}

/** Event n (from 1) of a run: ingress `o<n-1>` at resourceVersion n, as the raw client builds them. */
const runEnvelopes = (cluster: string, events: number) =>
  Array.from({ length: events }, (_, n) => ingressEnvelope(cluster, `o${n}`, n + 1));

const withVersion = (e: Envelope, rv: number): Envelope => ({
  ...e,
  id: envelopeId(e.cluster, e.uid, String(rv), e.type),
  resourceVersion: String(rv),
});

/** Registers the scenario's servers (throughMcic waits until the dispatcher delivers to them all). */
const prepareMcic = (sc: CelScenario) => registerServers(registry, box, receiver.base, sc.servers, sc.filters);

async function throughMcic(sc: CelScenario, envelopes: Envelope[], main?: string): Promise<DeliveryRun> {
  const running = await useDispatcher(main);
  await awaitDispatcherKnows(events, receiver, (rv) => withVersion(sc.envelope(0), rv), sc.servers);
  return measureDeliveries({
    receiver,
    ids: envelopes.map((e) => e.id),
    copies: sc.deliveries / sc.events,
    processes: { dispatcher: running.child.pid, receiver: receiver.pid, ...pids },
    send: () => publishTimed(events, envelopes),
  });
}

function fanoutScenario(fanout: number, events: number, cluster = `mcic-f${fanout}`): CelScenario {
  return {
    cluster,
    servers: fanout,
    filters: () => ({ clusters: [cluster] }),
    envelope: (n) => ingressEnvelope(cluster, n === 0 ? "probe" : `o${n - 1}`, n),
    events,
    deliveries: events * fanout,
  };
}

async function rawPost(fanout: number, events: number): Promise<DeliveryRun> {
  const client = await RawPostProcess.start();
  const cluster = `raw-f${fanout}`;
  const targets = Array.from({ length: fanout }, (_, i) => ({ path: `/raw${i}`, secret: generateWebhookSecret() }));
  const ids = runEnvelopes(cluster, events).map((e) => e.id);
  try {
    await client.prepare({
      origin: receiver.base,
      cluster,
      events,
      targets,
      connections: CONNECTIONS,
      inFlight: IN_FLIGHT,
    });
    return await measureDeliveries({
      receiver,
      ids,
      copies: fanout,
      processes: { client: client.pid, receiver: receiver.pid, ...pids },
      send: async () => {
        const { startedAt } = await client.run();
        return new Map(ids.map((id, n) => [id, startedAt[n] ?? Number.NaN]));
      },
    });
  } finally {
    await client.stop();
  }
}

async function minimalLoop(fanout: number, events: number): Promise<DeliveryRun> {
  const cluster = `loop-f${fanout}`;
  const loop = await MinimalLoopProcess.start(
    {
      natsUrl: nats.url,
      stream: eventsStreamName("loop"),
      durable: `loop_f${fanout}`,
      filterSubject: `loop.events.${cluster}.>`,
      targets: Array.from({ length: fanout }, (_, i) => ({
        url: `${receiver.base}/loop${i}`,
        secret: generateWebhookSecret(),
      })),
      connections: CONNECTIONS,
      inFlight: IN_FLIGHT,
    },
    nodeArgs("LOOP_NODE_ARGS"),
  );
  const envelopes = runEnvelopes(cluster, events);
  try {
    return await measureDeliveries({
      receiver,
      ids: envelopes.map((e) => e.id),
      copies: fanout,
      processes: { loop: loop.pid, receiver: receiver.pid, ...pids },
      send: () => publishTimed(loopEvents, envelopes),
    });
  } finally {
    await loop.stop();
  }
}

const elapsed = () => `${fmt((epochMs() - performance.timeOrigin) / 1000)} s`;
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });
const cpuText = (cpu: Record<string, number>) =>
  Object.entries(cpu)
    .map(([name, us]) => `${name} ${fmt(us)}`)
    .join(", ");

/** Every part MODE asks for, in one run; the caller cleans up whatever happens. */
async function measure(): Promise<void> {
  const rows: BenchRow[] = [];
  const targets: BenchTarget[] = [];

  if (runs("fanout")) {
    console.log("deliveries/s (share of raw POST) | p50 / p99 ms | CPU µs per delivery by process");
    for (const fanout of FANOUTS) {
      // Fan-out 100 is there to show the trend; half the deliveries keep the run short.
      const events = Math.max(1, Math.round((fanout >= 100 ? DELIVERIES / 2 : DELIVERIES) / fanout));
      const sc = fanoutScenario(fanout, events);
      await prepareMcic(sc);
      const raw = await rawPost(fanout, events);
      const loop = await minimalLoop(fanout, events);
      const mcic = await throughMcic(sc, runEnvelopes(sc.cluster, events));
      if (process.env.COMPARE_MAIN) {
        // Same servers, new events (JetStream would drop ids it has seen).
        const other = fanoutScenario(fanout, events, `cmpb-f${fanout}`);
        await prepareMcic(other);
        const r = await throughMcic(other, runEnvelopes(other.cluster, events), process.env.COMPARE_MAIN);
        console.log(
          `[${elapsed()}] ${`compared build, fan-out ${fanout}`.padEnd(36)} ${fmt(r.rate).padStart(7)}/s (${fmt((r.rate / raw.rate) * 100)}%) | ${fmt(r.p50Ms, 1)} / ${fmt(r.p99Ms, 1)} | ${cpuText(r.cpuUsPer)}`,
        );
      }
      const measured: [string, BenchRow["role"], DeliveryRun, string][] = [
        ["raw POST (ceiling)", "ceiling", raw, "latency: request start to arrival"],
        ["minimal loop (baseline)", "baseline", loop, "latency: publish to arrival (backlog drained)"],
        ["mcic", "mcic", mcic, "latency: publish to arrival (backlog drained)"],
      ];
      for (const [what, role, r, note] of measured) {
        const label = `${what}, fan-out ${fanout}`;
        const share = r.rate / raw.rate;
        rows.push({
          part: "dispatcher",
          label,
          role,
          rate: r.rate,
          unit: "deliveries/s",
          shareOfCeiling: share,
          cpuUsPer: r.cpuUsPer,
          p50Ms: r.p50Ms,
          p99Ms: r.p99Ms,
          note: `${fmt(r.deliveries)} deliveries; ${note}`,
        });
        console.log(
          `[${elapsed()}] ${label.padEnd(36)} ${fmt(r.rate).padStart(7)}/s (${fmt(share * 100)}%) | ${fmt(r.p50Ms, 1)} / ${fmt(r.p99Ms, 1)} | ${cpuText(r.cpuUsPer)}`,
        );
      }
      if (fanout === 1 || fanout === 10) {
        targets.push({
          name: `dispatcher CPU per delivery <= 1.2x the minimal loop's, fan-out ${fanout}`,
          value: (mcic.cpuUsPer.dispatcher ?? Number.NaN) / (loop.cpuUsPer.loop ?? Number.NaN),
          limit: 1.2,
          comparison: "<=",
          unit: "x",
        });
        targets.push({
          name: `dispatcher deliveries/s >= ${fanout === 1 ? 30 : 50}% of raw POST, fan-out ${fanout}`,
          value: mcic.rate / raw.rate,
          limit: fanout === 1 ? 0.3 : 0.5,
          comparison: ">=",
        });
      }
    }
    writeResults("dispatcher", rows, targets);
  }

  if (runs("cel")) {
    console.log(
      "\n100 servers | without expressions: deliveries/s  CPU µs/event | with CEL: deliveries/s  CPU µs/event | ratio (rate, CPU)",
    );
    for (const { label, plain, cel } of celComparisons(Number(process.env.CEL_EVENTS ?? 2000))) {
      // Alternated, twice each, so drift on the shared machine hits both sides alike.
      const sums = {
        plain: { elapsed: 0, cpu: 0, deliveries: 0, events: 0 },
        cel: { elapsed: 0, cpu: 0, deliveries: 0, events: 0 },
      };
      for (let round = 0; round < 2; round++) {
        for (const [side, sc] of [
          ["plain", plain(round)],
          ["cel", cel(round)],
        ] as const) {
          await prepareMcic(sc);
          const r = await throughMcic(
            sc,
            Array.from({ length: sc.events }, (_, i) => sc.envelope(i + 1)),
          );
          const acc = sums[side];
          acc.elapsed += sc.deliveries / r.rate;
          acc.cpu += ((r.cpuUsPer.dispatcher ?? 0) * sc.deliveries) / 1e6;
          acc.deliveries += sc.deliveries;
          acc.events += sc.events;
        }
      }
      const rate = (s: "plain" | "cel") => sums[s].deliveries / sums[s].elapsed;
      const cpuPerEvent = (s: "plain" | "cel") => (sums[s].cpu / sums[s].events) * 1e6;
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

  // The replicas measure their own dispatchers on the same backlog.
  await dispatcher?.kill("SIGTERM");

  if (runs("replicas")) {
    const replicaRows: BenchRow[] = [];
    const measuredRuns: ReplicaRun[] = [];
    console.log("\nreplicas on one backlog (fan-out 1) | deliveries/s once all ready | split | CPU µs per delivery");
    for (const count of REPLICAS) {
      const cluster = `replicas-${count}`;
      // Registered while no dispatcher runs: the replicas read them at start.
      await registerServers(registry, box, receiver.base, 1, () => ({ clusters: [cluster] }));
      const r = await measureReplicas({
        replicas: count,
        envelopes: runEnvelopes(cluster, REPLICA_DELIVERIES),
        events,
        receiver,
        env: dispatcherEnv,
        nodeArgs: nodeArgs("DISPATCHER_NODE_ARGS"),
        others: { receiver: receiver.pid, ...pids },
      });
      measuredRuns.push(r);
      const total = r.split.reduce((a, b) => a + b, 0);
      const split = r.split.map((n) => `${fmt((n / total) * 100)}%`).join(" / ");
      const allCpu = Object.entries(r.cpuUsPer)
        .filter(([name]) => !name.startsWith("dispatcher "))
        .reduce((sum, [, us]) => sum + us, 0);
      // Two cores give 2 s of CPU per second: the rate they allow at this CPU per delivery.
      const coresAllow = 2e6 / allCpu;
      replicaRows.push({
        part: "replicas",
        label: `mcic, ${count} replica${count === 1 ? "" : "s"}`,
        role: "mcic",
        rate: r.rate,
        unit: "deliveries/s",
        cpuUsPer: r.cpuUsPer,
        note:
          `${fmt((r.rate / (measuredRuns[0] as ReplicaRun).rate) * 100)}% of the first row's rate; split ${split}; ${fmt(r.beforeReady)} of ${fmt(r.deliveries)} delivered during the ` +
          `${fmt(r.startupSeconds, 1)} s start; all processes' CPU allows ${fmt(coresAllow)}/s on 2 cores`,
      });
      console.log(
        `${`${count} replica(s)`.padEnd(36)} ${fmt(r.rate).padStart(7)}/s | ${split} | ${cpuText(r.cpuUsPer)} (2 cores allow ${fmt(coresAllow)}/s)`,
      );
    }
    writeResults("replicas", replicaRows);
  }
}

try {
  await measure();
} finally {
  await dispatcher?.kill("SIGTERM");
  await receiver.stop();
  await events.close();
  await loopEvents.close();
  redis.disconnect();
  await Promise.all([nats.stop(), redisServer.stop()]);
}
console.log(`\ndone in ${elapsed()}`);
