import {
  type Envelope,
  EnvelopeSchema,
  type Logger,
  type Redis,
  type RedisKeys,
  eventsStreamName,
  type AttemptResult,
  type WebhookSender,
  toCloudEvent,
  eventsSubjectWildcard,
} from "@mcic/core";
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/transport-node";
import { KeyedSerializer } from "./keyed-serializer.js";
import { classify, retryDelay } from "./retry-policy.js";
import type { ServerIndex, Target } from "./server-index.js";

export interface DispatchConsumerOptions {
  nats: NatsConnection;
  redis: Redis;
  keys: RedisKeys;
  prefix: string;
  index: ServerIndex;
  sender: WebhookSender;
  retrySchedule: number[];
  concurrency: number;
  logger: Logger;
  ackWaitMs?: number;
}

const DONE_TTL_SECONDS = 7 * 24 * 3600;
const DEAD_LETTERS_KEPT = 10_000;

export function dispatchConsumerName(prefix: string): string {
  return `${eventsStreamName(prefix)}_dispatch`;
}

/**
 * Consumes the events stream through one durable consumer that every dispatcher replica shares
 * (queue semantics), and delivers each event to the servers that match it.
 */
export class DispatchConsumer {
  readonly #o: DispatchConsumerOptions;
  readonly #serial = new KeyedSerializer();
  readonly #inFlight = new Set<Promise<void>>();
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: DispatchConsumerOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {
    const { nats, prefix } = this.#o;
    const stream = eventsStreamName(prefix);
    const name = dispatchConsumerName(prefix);
    const jsm = await jetstreamManager(nats);
    const config = {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: eventsSubjectWildcard(prefix),
      // Longer than one attempt's timeout, so a slow server does not cause a redelivery race.
      ack_wait: nanos(this.#o.ackWaitMs ?? 60_000),
      max_ack_pending: 20_000,
      max_deliver: -1,
    };
    try {
      await jsm.consumers.info(stream, name);
      await jsm.consumers.update(stream, name, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending });
    } catch {
      await jsm.consumers.add(stream, config);
    }
    const consumer = await jetstream(nats).consumers.get(stream, name);
    this.#messages = await consumer.consume({ max_messages: Math.max(64, this.#o.concurrency * 2) });
    this.#loop = this.#run(this.#messages);
  }

  async #run(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      while (this.#inFlight.size >= this.#o.concurrency) await Promise.race(this.#inFlight);
      const work = this.#handle(msg).catch((err: unknown) => {
        this.#o.logger.error({ err, seq: msg.seq }, "event handling failed; it will be redelivered");
        msg.nak(1000);
      });
      this.#inFlight.add(work);
      void work.then(() => this.#inFlight.delete(work));
    }
  }

  async #handle(msg: JsMsg): Promise<void> {
    let envelope: Envelope;
    try {
      envelope = EnvelopeSchema.parse(msg.json());
    } catch (err) {
      // Retrying cannot fix a malformed message; terminate it so it does not loop forever.
      this.#o.logger.error(
        { seq: msg.seq, subject: msg.subject, err: (err as Error).message },
        "malformed envelope; dropped",
      );
      msg.term("malformed envelope");
      return;
    }
    await this.#serial.run(envelope.uid, () => this.#deliver(msg, envelope));
  }

  async #deliver(msg: JsMsg, envelope: Envelope): Promise<void> {
    const { redis, keys, index, sender, logger } = this.#o;
    const attempt = msg.info.deliveryCount;
    const doneKey = keys.eventDone(envelope.id);
    const done = attempt > 1 ? new Set(await redis.smembers(doneKey)) : new Set<string>();
    const targets = index.match(envelope).filter((t) => !done.has(t.name));
    logger.debug({ eventId: envelope.id, attempt, targets: targets.map((t) => t.name) }, "dispatching");
    const results = await Promise.all(targets.map(async (t) => [t, await sender.send(t, toCloudEvent(envelope, { includeSecretData: t.includeSecretData }))] as const));

    const settled: string[] = [];
    let retryAfter: number | undefined;
    let failed = 0;
    for (const [target, result] of results) {
      const log = logger.child({ server: target.name, eventId: envelope.id });
      if (result.ok) {
        settled.push(target.name);
        log.debug({ status: result.status, attempt, durationMs: result.durationMs }, "delivered");
        void this.#status(target, { lastSuccessAt: new Date().toISOString() });
        continue;
      }
      void this.#status(target, { lastFailureAt: new Date().toISOString() });
      const verdict = classify(result.status);
      if (verdict === "retry") {
        failed++;
        retryAfter = Math.max(retryAfter ?? 0, result.retryAfterMs ?? 0);
        log.warn({ status: result.status, error: result.error, attempt }, "delivery failed; will retry");
      } else {
        settled.push(target.name);
        await this.#deadLetter(target, envelope, result, attempt);
        log.warn({ status: result.status, verdict }, "delivery rejected; dead-lettered");
      }
    }
    if (failed === 0) {
      msg.ack();
      if (attempt > 1) await redis.del(doneKey);
      return;
    }
    if (settled.length > 0) {
      await redis
        .multi()
        .sadd(doneKey, ...settled)
        .expire(doneKey, DONE_TTL_SECONDS)
        .exec();
    }
    msg.nak(retryDelay(this.#o.retrySchedule, attempt, retryAfter));
  }

  async #deadLetter(target: Target, envelope: Envelope, result: AttemptResult, attempt: number): Promise<void> {
    const { redis, keys } = this.#o;
    const key = keys.deadLetters(target.name);
    const entry = {
      eventId: envelope.id,
      status: result.status,
      error: result.error,
      attempt,
      at: new Date().toISOString(),
      envelope,
    };
    await redis
      .multi()
      .lpush(key, JSON.stringify(entry))
      .ltrim(key, 0, DEAD_LETTERS_KEPT - 1)
      .hincrby(keys.serverStatus(target.name), "deadLetters", 1)
      .exec();
  }

  async #status(target: Target, fields: Record<string, string>): Promise<void> {
    try {
      await this.#o.redis.hset(this.#o.keys.serverStatus(target.name), fields);
    } catch (err) {
      this.#o.logger.warn({ server: target.name, err: (err as Error).message }, "status write failed");
    }
  }

  /** Stops taking messages and waits for those in hand; unacked ones go back to the stream. */
  async stop(): Promise<void> {
    this.#messages?.stop();
    await this.#loop;
    await Promise.all(this.#inFlight);
  }
}
