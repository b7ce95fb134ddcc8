import {
  type DeliveryRequest,
  DeliveryRequestSchema,
  type Logger,
  deliveriesStreamName,
  deliveriesSubjectWildcard,
} from "@mcic/core";
import type { JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ConsumerLoop } from "./consumer-loop.js";
import type { Deliverer } from "./deliverer.js";
import type { DeliveryRecorder } from "./delivery-recorder.js";
import type { LatestTracker } from "./latest-tracker.js";
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
  concurrency: number;
  ackWaitMs: number;
  logger: Logger;
  now?: () => number;
}

function deliveryConsumerName(prefix: string): string {
  return `${deliveriesStreamName(prefix)}_dispatch`;
}

/**
 * The durable path: retries, overflow, replays and snapshots for one server each. A message not
 * yet due goes back with a delay (JetStream keeps it, across restarts of anything); a due one is
 * tried in the server's lane, unless a newer event of the same object superseded it.
 */
export class DeliveryConsumer {
  readonly #o: DeliveryConsumerOptions;
  readonly #loop: ConsumerLoop;

  constructor(options: DeliveryConsumerOptions) {
    this.#o = options;
    this.#loop = new ConsumerLoop({
      nats: options.nats,
      stream: deliveriesStreamName(options.prefix),
      durable: deliveryConsumerName(options.prefix),
      filterSubject: deliveriesSubjectWildcard(options.prefix),
      ackWaitMs: options.ackWaitMs,
      // Messages waiting for their retry time count as pending acks: allow a long outage's worth.
      maxAckPending: 1_000_000,
      concurrency: options.concurrency,
      logger: options.logger,
      handle: (msg) => this.#handle(msg),
    });
  }

  start(): Promise<void> {
    return this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async #handle(msg: JsMsg): Promise<void> {
    let req: DeliveryRequest;
    try {
      req = DeliveryRequestSchema.parse(msg.json());
    } catch (err) {
      this.#o.logger.error({ seq: msg.seq, err: (err as Error).message }, "malformed delivery request; dropped");
      msg.term("malformed delivery request");
      return;
    }
    const now = (this.#o.now ?? Date.now)();
    const wait = Date.parse(req.notBefore) - now;
    if (wait > 0) {
      msg.nak(wait);
      return;
    }
    const { index, lanes, deliverer, recorder, latest } = this.#o;
    const { envelope, server } = req;
    const at = new Date(now).toISOString();
    let target = index.get(server);
    if (!target && !index.isDisabled(server)) {
      // A server registered a moment ago (its snapshot can arrive before the change notice).
      await index.reload();
      target = index.get(server);
    }
    if (!target) {
      if (index.isDisabled(server)) {
        await deliverer.deadLetter(server, envelope, 0, "server is disabled", req.attempt - 1);
        recorder.record(server, {
          eventId: envelope.id,
          attempt: req.attempt,
          status: 0,
          outcome: "dead-lettered",
          error: "server is disabled",
          durationMs: 0,
          at,
        });
      } else {
        this.#o.logger.info({ server, eventId: envelope.id }, "server no longer registered; delivery dropped");
      }
    } else if (req.reason !== "snapshot" && (await latest.superseded(server, envelope.uid, envelope.resourceVersion))) {
      recorder.record(server, {
        eventId: envelope.id,
        attempt: req.attempt,
        status: 0,
        outcome: "superseded",
        durationMs: 0,
        at,
      });
    } else {
      await lanes.run(server, envelope.uid, () => deliverer.attempt(target, envelope, req.attempt, req.firstAttemptAt));
    }
    recorder.parked(server, -1);
    await recorder.flush();
    msg.ack();
  }
}
