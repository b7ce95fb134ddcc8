import {
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
  createInbox,
  headers,
} from "@nats-io/transport-node";
import { type StreamAck, StreamPublishError, TransientRefusal, readAck } from "./stream-ack.js";

export { type StreamAck, StreamPublishError } from "./stream-ack.js";

/** Why messages were sent again: see StreamPublisher. */
export type ResendReason = "refused" | "unanswered" | "leader_elected" | "reconnected";

interface Pending {
  resolve: (ack: StreamAck) => void;
  reject: (err: Error) => void;
  subject: string;
  data: string | Uint8Array;
  headers: MsgHdrs;
  /** When the publish gives up; pending entries are in this order (one timeout for all). */
  deadline: number;
  sentAt: number;
  /** Refusals, and resends for want of an answer, for their back-offs. */
  refusals: number;
  unanswered: number;
  /** When a refused message is due again; undefined while it awaits an answer. */
  retryAt: number | undefined;
  /** Reported when the deadline passes, so the caller learns why, not only that it took long. */
  lastError: StreamPublishError | undefined;
}

export interface StreamPublisherOptions {
  /** How long to keep trying to store a message before failing its publish. */
  timeoutMs?: number;
  /** How long an unanswered message waits before it is sent again (see StreamPublisher). */
  resendAfterMs?: number;
  /** The stream whose leader elections make every waiting message be sent again at once (default: any). */
  stream?: string;
  /** Told of every resend, for metrics and logs. */
  onResend?: (reason: ResendReason, count: number) => void;
  now?: () => number;
}

/**
 * Publishes to JetStream with a message id and resolves with the stream's ack, like
 * `jetstream(nc).publish`, but built for thousands of publishes in flight: one reply subscription
 * for all of them and one timer sweeping overdue ones, where the client library arms a timer and
 * builds an Error (with a stack) for every request. On the watcher's hot path that was a fifth of
 * the CPU per event.
 *
 * On a NATS cluster a message can go unstored for a while without being lost for good: while a
 * stream elects a new leader (4–9 s on nats-server 2.9) every publish is refused with 503 no
 * responders, and what was on its way to the dead leader is never answered. So until `timeoutMs`
 * a message is sent again, with the same Nats-Msg-Id (the stream stores it once): after a refusal
 * (with back-off), when the stream's new leader is announced or the connection came back (all
 * waiting ones at once), and when it went unanswered for `resendAfterMs` while the stream answered
 * messages sent after it or nothing at all. One stream acks in publish order, so a slow stream
 * whose acks keep coming gets no resends. A message kept for resending holds its payload until acked.
 */
export class StreamPublisher {
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #resendAfterMs: number;
  readonly #onResend: (reason: ResendReason, count: number) => void;
  readonly #now: () => number;
  readonly #inbox: string;
  readonly #subs: Subscription[];
  readonly #pending = new Map<string, Pending>();
  #sweep: NodeJS.Timeout | undefined;
  #next = 0;
  #closed = false;
  /** Entries waiting for their retryAt: the sweep can stop at the first recent one when none do. */
  #refused = 0;
  /** Latest send time of a message acked, and when the last ack came. */
  #ackedSentAt = 0;
  #lastAckAt: number;

  constructor(nc: NatsConnection, options: StreamPublisherOptions = {}) {
    this.#nc = nc;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#resendAfterMs = Math.min(options.resendAfterMs ?? 2_000, this.#timeoutMs);
    this.#onResend = options.onResend ?? (() => undefined);
    this.#now = options.now ?? Date.now;
    this.#lastAckAt = this.#now();
    this.#inbox = `${createInbox()}.`;
    this.#subs = [
      nc.subscribe(`${this.#inbox}*`, { callback: (err, msg) => this.#answer(err, msg) }),
      nc.subscribe(`$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.${options.stream ?? "*"}`, {
        callback: () => this.#resendAll("leader_elected"),
      }),
    ];
    void this.#followReconnects();
  }

  /** Messages sent and not yet acknowledged. */
  get inFlight(): number {
    return this.#pending.size;
  }

  publish(subject: string, data: string | Uint8Array, msgId: string): Promise<StreamAck> {
    if (this.#closed) return Promise.reject(new StreamPublishError("publisher_closed", "publisher is closed"));
    const token = (this.#next++).toString(36);
    const h = headers();
    h.set("Nats-Msg-Id", msgId);
    return new Promise<StreamAck>((resolve, reject) => {
      const now = this.#now();
      const p: Pending = {
        resolve,
        reject,
        subject,
        data,
        headers: h,
        deadline: now + this.#timeoutMs,
        sentAt: now,
        refusals: 0,
        unanswered: 0,
        retryAt: undefined,
        lastError: undefined,
      };
      this.#pending.set(token, p);
      try {
        this.#nc.publish(subject, data, { reply: this.#inbox + token, headers: h });
      } catch (err) {
        this.#pending.delete(token);
        reject(err as Error);
        return;
      }
      if (!this.#sweep) {
        this.#sweep = setInterval(() => this.#tick(), Math.min(250, this.#timeoutMs / 4));
        // Waiting acks must not keep a stopping process alive; close() fails them instead.
        this.#sweep.unref();
      }
    });
  }

  /** Fails whatever is still waiting and stops listening for acks. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopSweep();
    for (const p of this.#pending.values()) p.reject(new StreamPublishError("publisher_closed", "publisher is closed"));
    this.#pending.clear();
    for (const sub of this.#subs) sub.unsubscribe();
  }

  async #followReconnects(): Promise<void> {
    // Ends when the connection closes; after close() it only waits for that.
    for await (const status of this.#nc.status()) {
      if (this.#closed) break;
      // What was written to the lost connection may never have reached the server.
      if (status.type === "reconnect") this.#resendAll("reconnected");
    }
  }

  #answer(err: Error | null, msg: Msg): void {
    const token = msg.subject.slice(this.#inbox.length);
    const p = this.#pending.get(token);
    // Unknown token: a second ack of a message sent twice, or one after its publish gave up.
    if (!p) return;
    const outcome = err ?? readAck(msg, p.subject);
    if (outcome instanceof TransientRefusal) {
      // A refusal answering an older send of a message already due again changes nothing.
      if (p.retryAt !== undefined) return;
      p.lastError = outcome.error;
      p.retryAt = this.#now() + Math.min(2_000, 100 * 2 ** Math.min(p.refusals++, 5));
      this.#refused++;
      return;
    }
    this.#settle(token, p);
    if (outcome instanceof Error) {
      p.reject(outcome);
      return;
    }
    this.#ackedSentAt = Math.max(this.#ackedSentAt, p.sentAt);
    this.#lastAckAt = this.#now();
    p.resolve(outcome);
  }

  #settle(token: string, p: Pending): void {
    this.#pending.delete(token);
    if (p.retryAt !== undefined) this.#refused--;
  }

  #send(token: string, p: Pending): void {
    if (p.retryAt !== undefined) this.#refused--;
    p.retryAt = undefined;
    p.sentAt = this.#now();
    try {
      this.#nc.publish(p.subject, p.data, { reply: this.#inbox + token, headers: p.headers });
    } catch (err) {
      // Only a closed connection refuses a publish: nothing more will be stored.
      this.#settle(token, p);
      p.reject(err as Error);
    }
  }

  #resendAll(reason: ResendReason): void {
    if (this.#closed || this.#pending.size === 0) return;
    const count = this.#pending.size;
    for (const [token, p] of this.#pending) this.#send(token, p);
    this.#onResend(reason, count);
  }

  #tick(): void {
    const now = this.#now();
    const silent = now - this.#lastAckAt >= this.#resendAfterMs;
    const resent = { refused: 0, unanswered: 0 };
    for (const [token, p] of this.#pending) {
      if (p.deadline <= now) {
        this.#settle(token, p);
        p.reject(
          p.lastError ??
            new StreamPublishError(
              "publish_timeout",
              `no ack from JetStream for ${p.subject} in ${this.#timeoutMs} ms`,
            ),
        );
        continue;
      }
      if (p.retryAt !== undefined) {
        if (p.retryAt <= now) {
          resent.refused++;
          this.#send(token, p);
        }
        continue;
      }
      if (now - p.sentAt >= this.#resendAfterMs) {
        // Acks come in publish order: a later message acked means this one was lost. Silence
        // may be a stalled stream, so each resend for it waits twice as long (up to 8 times).
        const due = silent ? now - p.sentAt >= this.#resendAfterMs * 2 ** Math.min(p.unanswered, 3) : true;
        if (due && (silent || this.#ackedSentAt > p.sentAt)) {
          p.unanswered++;
          resent.unanswered++;
          this.#send(token, p);
        }
      } else if (this.#refused === 0 && p.deadline - this.#timeoutMs > now - this.#resendAfterMs) {
        // Sent first after the horizon: neither it nor any later one is due for anything.
        break;
      }
    }
    if (resent.refused > 0) this.#onResend("refused", resent.refused);
    if (resent.unanswered > 0) this.#onResend("unanswered", resent.unanswered);
    if (this.#pending.size === 0) this.#stopSweep();
  }

  #stopSweep(): void {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = undefined;
  }
}
