// The CEL comparison of dispatcher-bench.ts: 100 servers with filter expressions against the same
// 100 servers without them, with the same deliveries on both sides.
import { type Envelope, type ServerFilters, compileFilters } from "@mcic/core";
import { ingressEnvelope } from "@mcic/test/support";

const SERVERS = 100;

/** What one measured run registers and publishes. */
export interface CelScenario {
  cluster: string;
  servers: number;
  filters(i: number): ServerFilters;
  /** The n-th event (1-based); event 0 is the probe and must reach every server. */
  envelope(n: number): Envelope;
  events: number;
  deliveries: number;
}

/** An ingress named `o<n>-h<k>` with rules for h<k>.shop.example and www.other.example. */
function hostEnvelope(cluster: string, n: number): Envelope {
  const k = n % SERVERS;
  const e = ingressEnvelope(cluster, n === 0 ? "probe" : `o${n}-h${k}`, n);
  const rules = [{ host: `h${k}.shop.example` }, { host: "www.other.example" }];
  return { ...e, object: { ...e.object, spec: { rules } } };
}

function scenario(cluster: string, events: number, perEvent: number, filters: CelScenario["filters"]): CelScenario {
  return {
    cluster,
    servers: SERVERS,
    filters: (i) => ({ clusters: [cluster], ...filters(i) }),
    envelope: (n) => hostEnvelope(cluster, n),
    events,
    deliveries: events * perEvent,
  };
}

/**
 * "every server": each event goes to all 100 servers; each evaluates a host check that matches.
 * "one server": each server takes only its own host, so 99 of 100 expressions match nothing; the
 * side without expressions routes the same events by a name glob. Scenarios get a fresh cluster
 * per round: JetStream would drop envelope ids it has seen.
 */
export function celComparisons(events: number) {
  const broadcast = Math.max(1, Math.round(events / 10));
  return [
    {
      label: "every server",
      plain: (round: number) => scenario(`cel-all-plain-${round}`, broadcast, SERVERS, () => ({})),
      cel: (round: number) =>
        scenario(`cel-all-cel-${round}`, broadcast, SERVERS, () => ({
          expression: 'object.spec.rules.exists(r, r.host.endsWith(".shop.example"))',
        })),
    },
    {
      label: "one server",
      plain: (round: number) => scenario(`cel-one-plain-${round}`, events, 1, (i) => ({ names: [`*-h${i}`, "probe"] })),
      cel: (round: number) =>
        scenario(`cel-one-cel-${round}`, events, 1, (i) => ({
          expression: `event.name == "probe" || object.spec.rules.exists(r, r.host == "h${i}.shop.example")`,
        })),
    },
  ];
}

/**
 * µs per event spent matching it against every server's filters, measured in this process (the
 * dispatcher does the same once per event): isolates the filter cost from the delivery noise.
 */
export function matchMicros(sc: CelScenario, rounds = 20): number {
  const matchers = Array.from({ length: sc.servers }, (_, i) => compileFilters(sc.filters(i)));
  // Fresh envelopes per round, as the dispatcher parses each message anew.
  const batches = Array.from({ length: rounds }, () => Array.from({ length: sc.events }, (_, n) => sc.envelope(n + 1)));
  let matched = 0;
  const start = process.hrtime.bigint();
  for (const batch of batches) {
    for (const e of batch) for (const m of matchers) if (m(e)) matched++;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1000;
  if (matched !== sc.deliveries * rounds) throw new Error(`matched ${matched}, expected ${sc.deliveries * rounds}`);
  return elapsed / (sc.events * rounds);
}
