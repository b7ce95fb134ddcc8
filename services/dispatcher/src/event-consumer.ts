import { type Envelope, EnvelopeSchema, type Logger, eventsStreamName, eventsSubjectWildcard } from "@mcic/core";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Deliverer } from "./deliverer.js";
import { DurableConsumer } from "./durable-consumer.js";
import type { RateLimiter } from "./rate-limiter.js";
import type { ServerIndex, Target } from "./server-index.js";
import type { ServerLanes } from "./server-lanes.js";

export interface EventConsumerOptions {
  nats: NatsConnection;
  prefix: string;
  index: ServerIndex;
  lanes: ServerLanes;
  deliverer: Deliverer;
  limiter: RateLimiter;
  /** Events in hand at once (each waits for all its targets before it is acked). */
  concurrency: number;
  ackWaitMs: number;
  logger: Logger;
  now?: () => number;
}

/**
 * The fast path: each event from the shared stream is delivered at once to every matching server
 * that is healthy and has room; for the others it is parked in the durable per-server queue. The
 * event is acked only when every target's outcome is stored, so a crash loses nothing.
 */
export function createEventConsumer(o: EventConsumerOptions): DurableConsumer<Envelope> {
  const stream = eventsStreamName(o.prefix);
  const now = o.now ?? Date.now;
  const toTarget = async (target: Target, envelope: Envelope): Promise<void> => {
    const at = new Date(now()).toISOString();
    if (!o.lanes.accepts(target.name)) {
      // Failing or full: the durable queue takes it, and the retry path tries it in a second.
      await o.deliverer.park(target.name, envelope, 1, at, 1000, "overflow");
      return;
    }
    // Over its rate limit: the durable queue keeps it until its slot, so the event need not be
    // held (nor other servers' deliveries of it wait) meanwhile.
    const wait = o.limiter.reserve(target.name, target.stored.rateLimit);
    if (wait > 0) {
      await o.deliverer.park(target.name, envelope, 1, at, wait, "overflow", true);
      return;
    }
    await o.lanes.run(target.name, envelope.uid, () => o.deliverer.attempt(target, envelope, 1, at));
  };
  return new DurableConsumer({
    nats: o.nats,
    stream,
    durable: `${stream}_dispatch`,
    filterSubject: eventsSubjectWildcard(o.prefix),
    ackWaitMs: o.ackWaitMs,
    maxAckPending: 50_000,
    concurrency: o.concurrency,
    logger: o.logger,
    schema: EnvelopeSchema,
    handle: async (envelope) => {
      await Promise.all(o.index.match(envelope).map((t) => toTarget(t, envelope)));
      return undefined;
    },
  });
}
