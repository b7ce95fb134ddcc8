import {
  Counter,
  type DispatcherPresence,
  Histogram,
  type Logger,
  type MetricsRegistry,
  type Registry,
} from "@mcic/core";
import type { Context } from "koa";

/** Response header of every server change: `applied`, or `unconfirmed` when the wait gave up. */
export const DISPATCHERS_HEADER = "X-Mcic-Dispatchers";
export const DISPATCHERS_HEADER_DOC = {
  description:
    "`applied`: every live dispatcher applied the change, so events made from now on are matched against it. " +
    "`unconfirmed`: some dispatcher did not confirm within 5 s (the change is stored and takes effect there later).",
  schema: { type: "string" as const },
};

/** How long a server change waits for the dispatchers at most. */
export const DEFAULT_DISPATCHER_SYNC_MS = 5000;

/**
 * Called by every route that wrote a server registration, after the write: resolves once every
 * live dispatcher applied it, or at the deadline. The write is stored either way, so the answer
 * keeps its status; the header says which it was, and a timeout is logged naming the replicas
 * that lag (a dispatcher that lost its change subscription, or is overloaded).
 */
export type AwaitDispatchers = (ctx: Context) => Promise<void>;

export function dispatcherSync(o: {
  registry: Registry;
  presence: DispatcherPresence;
  timeoutMs: number;
  logger: Logger;
  metrics: MetricsRegistry;
}): AwaitDispatchers {
  const outcomes = new Counter({
    name: "mcic_api_dispatcher_sync_total",
    help: "Server changes by whether every live dispatcher confirmed them in time (applied, timeout, error)",
    labelNames: ["outcome"],
    registers: [o.metrics],
  });
  const duration = new Histogram({
    name: "mcic_api_dispatcher_sync_seconds",
    help: "Time a server change waited for the dispatchers to apply it",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [o.metrics],
  });
  for (const outcome of ["applied", "timeout", "error"]) outcomes.inc({ outcome }, 0);

  return async (ctx) => {
    const started = performance.now();
    let lagging: string[];
    try {
      const revision = await o.registry.serversRevision();
      lagging = await o.presence.waitUntilApplied(revision, o.timeoutMs);
      if (lagging.length > 0) {
        o.logger.warn(
          { dispatchers: lagging, revision, waitedMs: Math.round(performance.now() - started) },
          "dispatchers did not confirm a server change in time",
        );
      }
    } catch (err) {
      // The change is stored; only the confirmation could not be read.
      o.logger.warn({ err: (err as Error).message }, "could not check that dispatchers applied a server change");
      outcomes.inc({ outcome: "error" });
      ctx.set(DISPATCHERS_HEADER, "unconfirmed");
      return;
    }
    duration.observe((performance.now() - started) / 1000);
    outcomes.inc({ outcome: lagging.length === 0 ? "applied" : "timeout" });
    ctx.set(DISPATCHERS_HEADER, lagging.length === 0 ? "applied" : "unconfirmed");
  };
}
