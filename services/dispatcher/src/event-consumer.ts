import { type Envelope, EnvelopeSchema, type Logger, eventsStreamName, eventsSubjectWildcard } from "@mcic/core";
import type { JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ConsumerLoop } from "./consumer-loop.js";
import type { Deliverer } from "./deliverer.js";
import type { ServerIndex, Target } from "./server-index.js";
import type { ServerLanes } from "./server-lanes.js";

export interface EventConsumerOptions {
  nats: NatsConnection;
  prefix: string;
  index: ServerIndex;
  lanes: ServerLanes;
  deliverer: Deliverer;
  /** Events in hand at once (each waits for all its targets before it is acked). */
  concurrency: number;
  ackWaitMs: number;
  logger: Logger;
  now?: () => number;
}

function eventConsumerName(prefix: string): string {
  return `${eventsStreamName(prefix)}_dispatch`;
}

/**
 * The fast path: each event from the shared stream is delivered at once to every matching server
 * that is healthy and has room; for the others it is parked in the durable per-server queue. The
 * event is acked only when every target's outcome is stored, so a crash loses nothing.
 */
export class EventConsumer {
  readonly #o: EventConsumerOptions;
  readonly #loop: ConsumerLoop;

  constructor(options: EventConsumerOptions) {
    this.#o = options;
    this.#loop = new ConsumerLoop({
      nats: options.nats,
      stream: eventsStreamName(options.prefix),
      durable: eventConsumerName(options.prefix),
      filterSubject: eventsSubjectWildcard(options.prefix),
      ackWaitMs: options.ackWaitMs,
      maxAckPending: 50_000,
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
    let envelope: Envelope;
    try {
      envelope = EnvelopeSchema.parse(msg.json());
    } catch (err) {
      // Retrying cannot fix a malformed message; terminate it so it does not come back.
      this.#o.logger.error(
        { seq: msg.seq, subject: msg.subject, err: (err as Error).message },
        "malformed envelope; dropped",
      );
      msg.term("malformed envelope");
      return;
    }
    const targets = this.#o.index.match(envelope);
    await Promise.all(targets.map((t) => this.#toTarget(t, envelope)));
    msg.ack();
  }

  async #toTarget(target: Target, envelope: Envelope): Promise<void> {
    const { lanes, deliverer } = this.#o;
    const now = new Date((this.#o.now ?? Date.now)()).toISOString();
    if (!lanes.accepts(target.name)) {
      // Failing or full: the durable queue takes it, and the retry path tries it in a second.
      await deliverer.park(target.name, envelope, 1, now, 1000, "overflow");
      return;
    }
    await lanes.run(target.name, envelope.uid, () => deliverer.attempt(target, envelope, 1, now));
  }
}
