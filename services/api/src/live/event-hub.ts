import {
  type Envelope,
  type EnvelopeMatcher,
  EnvelopeSchema,
  type Logger,
  type NatsConnection,
  eventsSubjectWildcard,
} from "@mcic/core";
import { SlidingCounter } from "./sliding-counter.js";

/** One open stream: what it wants and where it goes. */
export interface HubSubscriber {
  matches: EnvelopeMatcher;
  /** Takes the envelope as sent (JSON text); the subscriber handles its own backpressure. */
  send(json: string): void;
  /** Ends the stream (API shutdown). */
  end(): void;
}

export interface EventHubOptions {
  nats: NatsConnection;
  prefix: string;
  logger: Logger;
  /** How many streams may be open at once (default 100). */
  maxSubscribers?: number;
  now?: () => number;
}

export const STATS_WINDOW_SECONDS = 60;
/** Envelope ids remembered to drop a change published twice (a restart, a second watcher). */
const RECENT_IDS = 4096;

/**
 * The API's live view of the events stream: one core NATS subscription on `<prefix>.events.>`
 * (not a JetStream consumer: a live tail keeps no position, replays nothing and loses nothing
 * of the durable stream when a client goes away) that counts events per cluster for GET /stats and
 * fans each envelope out to the open `/events/stream` connections whose filters match.
 * Counting reads only the subject; envelopes are parsed only while a stream is open.
 */
export class EventHub {
  readonly #o: EventHubOptions;
  readonly #subscribers = new Set<HubSubscriber>();
  readonly #counter: SlidingCounter;
  readonly #recent = new Set<string>();
  readonly #subjectStart: number;
  readonly #sub: ReturnType<NatsConnection["subscribe"]>;
  #closed = false;

  constructor(options: EventHubOptions) {
    this.#o = options;
    this.#counter = new SlidingCounter(STATS_WINDOW_SECONDS, options.now);
    this.#subjectStart = `${options.prefix}.events.`.length;
    this.#sub = options.nats.subscribe(eventsSubjectWildcard(options.prefix), {
      callback: (err, msg) => {
        if (err) {
          this.#o.logger.warn({ err: err.message }, "live events subscription failed");
          return;
        }
        this.#receive(msg.subject, msg.headers?.get("Nats-Msg-Id") ?? "", msg.data);
      },
    });
  }

  get size(): number {
    return this.#subscribers.size;
  }

  get full(): boolean {
    return this.#subscribers.size >= (this.#o.maxSubscribers ?? 100);
  }

  /** Adds a stream; returns what removes it. */
  add(subscriber: HubSubscriber): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  /** Events per cluster over the last minute (or since the API started, when that is less). */
  eventCounts(): { seconds: number; counts: Map<string, number> } {
    return { seconds: this.#counter.coveredSeconds(), counts: this.#counter.totals() };
  }

  /** Ends every open stream and the subscription; later streams are refused by the caller. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sub.unsubscribe();
    for (const s of this.#subscribers) s.end();
    this.#subscribers.clear();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #receive(subject: string, id: string, data: Uint8Array): void {
    if (id) {
      if (this.#recent.has(id)) return;
      this.#recent.add(id);
      if (this.#recent.size > RECENT_IDS) this.#recent.delete(this.#recent.values().next().value as string);
    }
    const cluster = subject.slice(this.#subjectStart).split(".", 1)[0] ?? "";
    this.#counter.add(cluster);
    if (this.#subscribers.size === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(data));
    } catch {
      parsed = undefined;
    }
    const result = EnvelopeSchema.safeParse(parsed);
    if (!result.success) {
      this.#o.logger.warn({ subject }, "live event is not an envelope; not streamed");
      return;
    }
    const envelope = result.data;
    let json: string | undefined;
    for (const s of this.#subscribers) {
      if (!s.matches(envelope)) continue;
      json ??= JSON.stringify(publicEnvelope(envelope));
      s.send(json);
    }
  }
}

/**
 * The envelope as a stream client sees it: the object as stored (Secret values stay "REDACTED",
 * never opened), without the sealed values themselves and without `metadata.managedFields`.
 */
export function publicEnvelope(e: Envelope): Omit<Envelope, "sealedSecretValues"> {
  const { sealedSecretValues: _sealed, ...rest } = e;
  const metadata = e.object.metadata;
  if (metadata && typeof metadata === "object" && "managedFields" in metadata) {
    const { managedFields: _fields, ...kept } = metadata as Record<string, unknown>;
    return { ...rest, object: { ...e.object, metadata: kept } };
  }
  return rest;
}
