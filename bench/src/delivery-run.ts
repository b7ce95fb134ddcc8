// One measured run of deliveries, whoever sends them: the receiver is told which ids to expect,
// CPU of every process involved is read before and after, and the rate runs from the first send
// to the last arrival at the receiver (another process).
import type { Envelope } from "@mcic/core";
import type { EventPublisher } from "@mcic/test/support";
import { type CpuSnapshot, cpuMicrosPer, cpuSnapshot } from "./cpu-meter.js";
import { epochMs } from "./ipc.js";
import type { Arrivals, BenchReceiver } from "./receiver.js";
import { percentile } from "./results.js";

export interface DeliveryRun {
  deliveries: number;
  /** Deliveries per second, first send to last arrival. */
  rate: number;
  /** Send (publish, or request start for raw POST) to arrival at the receiver. */
  p50Ms: number;
  p99Ms: number;
  /** CPU µs per delivery of each process named in `processes`. */
  cpuUsPer: Record<string, number>;
}

/** After the last arrival: acks, the delivery log's batch and the like still belong to the run. */
const SETTLE_MS = 300;

export async function measureDeliveries(o: {
  receiver: BenchReceiver;
  ids: string[];
  copies: number;
  /** Processes whose CPU the row reports, by the name the report shows. */
  processes: Record<string, number | undefined>;
  /** Sends everything; resolves with the time each id was handed over (epoch ms). */
  send: () => Promise<Map<string, number>>;
  timeoutMs?: number;
}): Promise<DeliveryRun> {
  const deliveries = o.ids.length * o.copies;
  const arrived = await o.receiver.expect(o.ids, o.copies, o.timeoutMs ?? 300_000);
  const before: CpuSnapshot = cpuSnapshot(o.processes);
  const start = epochMs();
  const sentAt = await o.send();
  const arrivals = await arrived();
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const after = cpuSnapshot(o.processes);
  const last = Math.max(...arrivals.at);
  const latencies = latenciesOf(arrivals, sentAt);
  return {
    deliveries,
    rate: deliveries / ((last - start) / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPer: cpuMicrosPer(before, after, deliveries),
  };
}

function latenciesOf(arrivals: Arrivals, sentAt: Map<string, number>): number[] {
  return arrivals.ids.map((id, i) => (arrivals.at[i] as number) - (sentAt.get(id) ?? Number.NaN));
}

/** Publishes envelopes as a watcher would, 500 at a time, noting when each was handed to NATS. */
export async function publishTimed(publisher: EventPublisher, envelopes: Envelope[]): Promise<Map<string, number>> {
  const sentAt = new Map<string, number>();
  for (let i = 0; i < envelopes.length; i += 500) {
    const chunk = envelopes.slice(i, i + 500);
    const now = epochMs();
    for (const e of chunk) sentAt.set(e.id, now);
    await publisher.publish(chunk);
  }
  return sentAt;
}
