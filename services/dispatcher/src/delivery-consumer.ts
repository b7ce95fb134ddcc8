import {
  type DeliveryRequest,
  DeliveryRequestSchema,
  type Logger,
  deliveriesStreamName,
  deliveriesSubjectWildcard,
} from "@mcic/core";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Deliverer } from "./deliverer.js";
import type { DeliveredVersions } from "./delivered-versions.js";
import type { DeliveryRecorder } from "./delivery-recorder.js";
import { DurableConsumer, type HandlerOutcome } from "./durable-consumer.js";
import type { LatestTracker } from "./latest-tracker.js";
import type { RateLimiter } from "./rate-limiter.js";
import type { ServerIndex } from "./server-index.js";
import type { ServerLanes } from "./server-lanes.js";

export interface DeliveryConsumerOptions {
  nats: NatsConnection;
  prefix: string;
  index: ServerIndex;
  lanes: ServerLanes;
  deliverer: Deliverer;
  recorder: DeliveryRecorder;
  latest: LatestTracker;
  limiter: RateLimiter;
  /** What each server already took, so a replay never sends an older version. */
  versions: DeliveredVersions;
  concurrency: number;
  ackWaitMs: number;
  logger: Logger;
  now?: () => number;
}

/**
 * The durable path: retries, overflow, replays and snapshots for one server each. A message not
 * yet due goes back with a delay (JetStream keeps it, across restarts of anything); a due one is
 * tried in the server's lane, unless a newer event of the same object superseded it.
 */
export function createDeliveryConsumer(o: DeliveryConsumerOptions): DurableConsumer<DeliveryRequest> {
  const stream = deliveriesStreamName(o.prefix);
  return new DurableConsumer({
    nats: o.nats,
    stream,
    durable: `${stream}_dispatch`,
    filterSubject: deliveriesSubjectWildcard(o.prefix),
    ackWaitMs: o.ackWaitMs,
    // Messages waiting for their retry time count as pending acks: allow a long outage's worth.
    maxAckPending: 1_000_000,
    concurrency: o.concurrency,
    logger: o.logger,
    schema: DeliveryRequestSchema,
    handle: (req) => handleDeliveryRequest(o, req),
  });
}

async function handleDeliveryRequest(o: DeliveryConsumerOptions, req: DeliveryRequest): Promise<HandlerOutcome> {
  const now = (o.now ?? Date.now)();
  const wait = Date.parse(req.notBefore) - now;
  if (wait > 0) return { redeliverInMs: wait };
  const { index, lanes, deliverer, recorder } = o;
  const { envelope, server } = req;
  let target = index.get(server);
  if (!target && !index.isDisabled(server)) {
    // A server registered a moment ago (its snapshot can arrive before the change notice).
    await index.reload();
    target = index.get(server);
  }
  const skip = target ? await supersededBecause(o, req) : undefined;
  if (!target) {
    await deliverer.unavailable(server, envelope, req.attempt);
  } else if (skip !== undefined) {
    recorder.record(server, {
      eventId: envelope.id,
      attempt: req.attempt,
      status: 0,
      outcome: "superseded",
      ...(skip ? { error: skip } : {}),
      durationMs: 0,
      at: new Date(now).toISOString(),
    });
  } else {
    const wait = req.rateSlot ? 0 : o.limiter.reserve(server, target.stored.rateLimit);
    if (wait > 0) await deliverer.park(server, envelope, req.attempt, req.firstAttemptAt, wait, req.reason, true);
    else
      await lanes.run(server, envelope.uid, () => deliverer.attempt(target, envelope, req.attempt, req.firstAttemptAt));
  }
  await recorder.flush();
  return undefined;
}

/**
 * Why this delivery is not to be sent any more (undefined: send it; "" needs no explanation): a
 * newer event of the object is bound for the server, or, for a replay, the server already took a
 * newer version of it.
 */
async function supersededBecause(o: DeliveryConsumerOptions, req: DeliveryRequest): Promise<string | undefined> {
  const { server, envelope } = req;
  if (req.reason !== "snapshot" && (await o.latest.superseded(server, envelope.uid, envelope.resourceVersion)))
    return "";
  if (req.reason !== "replay") return undefined;
  const newer = await o.versions.newerThan(server, envelope.uid, envelope.resourceVersion);
  return newer === undefined ? undefined : `the server already received resourceVersion ${newer}`;
}
