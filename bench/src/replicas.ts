// 1 and N dispatcher replicas on the same backlog: the backlog is published while no dispatcher
// runs, then the replicas start together. The rate counts only what arrived once all of them were
// ready (startup is not throughput); each replica's share comes from its own
// mcic_dispatcher_deliveries_total, its CPU from /proc, over the same window.
import type { Envelope } from "@mcic/core";
import { type EventPublisher, type ServiceProcess, scrapeMetric, startService } from "@mcic/test/support";
import { cpuMicrosPer, cpuSnapshot } from "./cpu-meter.js";
import { publishTimed } from "./delivery-run.js";
import { epochMs } from "./ipc.js";
import type { BenchReceiver } from "./receiver.js";

export interface ReplicaRun {
  replicas: number;
  deliveries: number;
  /** Deliveries/s once every replica was ready. */
  rate: number;
  /** Deliveries of the window per replica (from its metrics). */
  split: number[];
  /** CPU µs per delivery of the window: each replica, all of them, receiver, nats, redis. */
  cpuUsPer: Record<string, number>;
  /** Seconds from starting the replicas until all were ready. */
  startupSeconds: number;
  /** Deliveries made before every replica was ready. */
  beforeReady: number;
}

const delivered = (svc: ServiceProcess) => scrapeMetric(svc, "mcic_dispatcher_deliveries_total", 'outcome="delivered"');

export async function measureReplicas(o: {
  replicas: number;
  envelopes: Envelope[];
  events: EventPublisher;
  receiver: BenchReceiver;
  env: Record<string, string>;
  nodeArgs: string[];
  others: Record<string, number | undefined>;
}): Promise<ReplicaRun> {
  const ids = o.envelopes.map((e) => e.id);
  const arrived = await o.receiver.expect(ids, 1, 600_000);
  await publishTimed(o.events, o.envelopes);
  const spawned = epochMs();
  const services = Array.from({ length: o.replicas }, () => startService("dispatcher", o.env, o.nodeArgs));
  try {
    await Promise.all(services.map((s) => s.waitForLog("ready", 60_000)));
    const ready = epochMs();
    const pids = () =>
      Object.fromEntries(services.map((s, i) => [`dispatcher ${i + 1}`, s.child.pid as number] as const));
    const before = { cpu: cpuSnapshot({ ...pids(), ...o.others }), counts: await Promise.all(services.map(delivered)) };
    const arrivals = await arrived();
    await new Promise((r) => setTimeout(r, 300));
    const after = { cpu: cpuSnapshot({ ...pids(), ...o.others }), counts: await Promise.all(services.map(delivered)) };
    const split = after.counts.map((n, i) => n - (before.counts[i] ?? 0));
    const inWindow = split.reduce((a, b) => a + b, 0);
    const last = Math.max(...arrivals.at);
    const cpuUsPer = cpuMicrosPer(before.cpu, after.cpu, inWindow);
    cpuUsPer.dispatchers = services.reduce((sum, _s, i) => sum + (cpuUsPer[`dispatcher ${i + 1}`] ?? 0), 0);
    return {
      replicas: o.replicas,
      deliveries: ids.length,
      rate: inWindow / ((last - ready) / 1000),
      split,
      cpuUsPer,
      startupSeconds: (ready - spawned) / 1000,
      beforeReady: ids.length - inWindow,
    };
  } finally {
    await Promise.all(services.map((s) => s.kill("SIGTERM")));
  }
}
