import { type Logger, Semaphore, retryWhileUnavailable } from "@mcic/core";
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { type NatsConnection, type Subscription, nanos } from "@nats-io/transport-node";
import type { z } from "zod";
import { AckBatch } from "./ack-batch.js";

/** A handled message is acked, unless the handler asks for it back later (not due yet). */
export type HandlerOutcome = undefined | { redeliverInMs: number };

export interface DurableConsumerOptions<T> {
  nats: NatsConnection;
  stream: string;
  /** Durable name: every dispatcher replica binds to the same one (queue semantics). */
  durable: string;
  filterSubject: string;
  ackWaitMs: number;
  maxAckPending: number;
  /** Messages handled at once by this replica. */
  concurrency: number;
  logger: Logger;
  /** What every message must hold; one that does not is terminated. */
  schema: z.ZodType<T>;
  handle: (value: T) => Promise<HandlerOutcome>;
}

/**
 * How long one pull request lives. Its heartbeats (every half of it) tell the client library that
 * the consumer's leader went silent, and it pulls again; the library's 30 s default kept a
 * dispatcher idle for 30–40 s after the node leading its consumer died.
 */
const PULL_EXPIRES_MS = 5_000;
/** Pause before pulling again after the pull loop failed. */
const REPULL_DELAY_MS = 1_000;

/**
 * A shared durable pull consumer handing schema-checked messages to a typed handler, with bounded
 * concurrency. The message is acked when the handler resolves; a handler that throws gets it back
 * after a second (JetStream keeps it meanwhile, across restarts).
 *
 * On a NATS cluster the consumer has a leader of its own; pull requests live there and die with
 * it. When JetStream announces a new leader, the consumer pulls again at once (messages already
 * received are handled first); an ack lost with the old leader makes that message come back after
 * ackWaitMs, a duplicate.
 */
export class DurableConsumer<T> {
  readonly #o: DurableConsumerOptions<T>;
  readonly #inFlight = new Set<Promise<void>>();
  #messages: ConsumerMessages | undefined;
  #leaderElected: Subscription | undefined;
  #loop: Promise<void> | undefined;
  readonly #slots: Semaphore;
  #stopping = false;
  #stopped!: () => void;
  /** Resolves when stop() is called: a message waiting for a slot then goes back at once. */
  readonly #stopSignal = new Promise<void>((resolve) => {
    this.#stopped = resolve;
  });
  #handedBack = 0;
  readonly #acks = new AckBatch();

  constructor(options: DurableConsumerOptions<T>) {
    this.#o = options;
    this.#slots = new Semaphore(options.concurrency);
  }

  async start(): Promise<void> {
    const { nats, stream, durable } = this.#o;
    const jsm = await jetstreamManager(nats);
    const settings = { ack_wait: nanos(this.#o.ackWaitMs), max_ack_pending: this.#o.maxAckPending };
    // Replicas starting together race to create or update it; on a cluster that can go unanswered.
    await retryWhileUnavailable(
      `consumer ${durable}`,
      async () => {
        let current: ConsumerConfig | undefined;
        try {
          current = (await jsm.consumers.info(stream, durable)).config;
        } catch (err) {
          if (!isConsumerNotFound(err)) throw err;
        }
        if (!current) {
          await jsm.consumers.add(stream, {
            durable_name: durable,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            filter_subject: this.#o.filterSubject,
            max_deliver: -1,
            ...settings,
          });
        } else if (current.ack_wait !== settings.ack_wait || current.max_ack_pending !== settings.max_ack_pending) {
          await jsm.consumers.update(stream, durable, settings);
        }
      },
      { logger: this.#o.logger },
    );
    const consumer = await jetstream(nats).consumers.get(stream, durable);
    this.#leaderElected = nats.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED.${stream}.${durable}`, {
      // Ends the current pull after what it already received; #run then pulls from the new leader.
      callback: () => this.#messages?.stop(),
    });
    this.#messages = await this.#pull(consumer);
    this.#loop = this.#run(consumer, this.#messages);
  }

  #pull(consumer: Consumer): Promise<ConsumerMessages> {
    return consumer.consume({ max_messages: Math.max(64, this.#o.concurrency), expires: PULL_EXPIRES_MS });
  }

  /** Takes messages until stop(), pulling again whenever a pull ends (new leader) or fails. */
  async #run(consumer: Consumer, first: ConsumerMessages): Promise<void> {
    const { stream, durable, logger } = this.#o;
    let messages: ConsumerMessages | undefined = first;
    while (!this.#stopping) {
      try {
        if (!messages) {
          messages = await this.#pull(consumer);
          this.#messages = messages;
          // stop() may have come while this pull was set up: it stopped the previous one.
          if (this.#stopping) messages.stop();
        }
        await this.#take(messages);
        if (!this.#stopping) logger.info({ stream, durable }, "consumer leader changed; pulling again");
      } catch (err) {
        logger.warn({ err: (err as Error).message, stream, durable }, "pulling messages failed; pulling again");
        await new Promise((r) => setTimeout(r, REPULL_DELAY_MS));
      }
      messages = undefined;
    }
  }

  async #take(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      // A semaphore, not Promise.race over everything in flight (O(in flight) per message).
      const slot = !this.#stopping && (this.#slots.tryAcquire() || (await this.#slotUnlessStopping()));
      if (!slot) {
        // Pulled but not started once stopping: back to the stream at once for another replica,
        // instead of waiting out ack_wait. The client yields every buffered message before it ends.
        msg.nak();
        this.#handedBack++;
        continue;
      }
      const work = this.#handle(msg).catch((err: unknown) => {
        this.#o.logger.error(
          { err, stream: this.#o.stream, seq: msg.seq },
          "message handling failed; it will be redelivered",
        );
        msg.nak(1000);
      });
      this.#inFlight.add(work);
      void work.then(() => {
        this.#inFlight.delete(work);
        this.#slots.release();
      });
    }
  }

  /** Waits for a free slot and takes it; false (no slot taken) once stop() was called. */
  async #slotUnlessStopping(): Promise<boolean> {
    while (!this.#stopping) {
      if (this.#slots.tryAcquire()) return true;
      await Promise.race([this.#slots.room(), this.#stopSignal]);
    }
    return false;
  }

  /**
   * Ends the pulls with the server's last word. Stopping the iterator alone unsubscribes at once,
   * so messages the server sent before it heard of that are dropped in the client and wait out
   * ack_wait (up to 36 per stop at 1,500 messages/s, measured). Draining the inbox subscription (UNSUB, then a
   * round trip) lets them arrive to be handed back; the client library ends the iterator itself
   * when its subscription drains. That subscription is not public: without it, plain stop.
   */
  async #drainInbox(): Promise<void> {
    const sub = (this.#messages as unknown as { sub?: Subscription } | undefined)?.sub;
    if (!sub || typeof sub.drain !== "function" || sub.isClosed()) return;
    try {
      await sub.drain();
    } catch (err) {
      this.#o.logger.warn({ stream: this.#o.stream, err: (err as Error).message }, "draining the pull inbox failed");
    }
  }

  async #handle(msg: JsMsg): Promise<void> {
    let value: T;
    try {
      value = this.#o.schema.parse(msg.json());
    } catch (err) {
      // Retrying cannot fix a malformed message; terminate it so it does not come back.
      this.#o.logger.error(
        { stream: this.#o.stream, seq: msg.seq, subject: msg.subject, err: (err as Error).message },
        "malformed message; dropped",
      );
      // No reason text: nats-server before 2.10 ignores "+TERM <reason>" and would redeliver it.
      msg.term();
      return;
    }
    const outcome = await this.#o.handle(value);
    if (outcome) this.#acks.nak(msg, outcome.redeliverInMs);
    else this.#acks.ack(msg);
  }

  /**
   * Stops taking messages: every message pulled but not started goes back to the stream at once
   * (nak), those in hand are finished.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stopped();
    this.#leaderElected?.unsubscribe();
    await this.#drainInbox();
    this.#messages?.stop();
    await this.#loop;
    if (this.#handedBack > 0) {
      this.#o.logger.info(
        { stream: this.#o.stream, messages: this.#handedBack },
        "handed pulled messages back on stop",
      );
    }
    await Promise.all(this.#inFlight);
    this.#acks.flush();
  }
}

function isConsumerNotFound(err: unknown): boolean {
  return (
    (err as { name?: string }).name === "ConsumerNotFoundError" ||
    /consumer not found/i.test(String((err as Error).message))
  );
}
