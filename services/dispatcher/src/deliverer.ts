import { randomUUID } from "node:crypto";
import {
  type DeliveryRecord,
  type DeliveryRequest,
  type Envelope,
  type Logger,
  type Redis,
  type RedisKeys,
  SealedSecretValuesError,
  type SerializedEvent,
  type WebhookSender,
  deliverySubject,
  openSecretValues,
  toCloudEvent,
  publishChangeNotice,
} from "@mcic/core";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { DeliveryRecorder } from "./delivery-recorder.js";
import type { FailureWindow } from "./failure-window.js";
import type { LatestTracker } from "./latest-tracker.js";
import type { OrderGuard } from "./order-guard.js";
import type { ReplicaCount } from "./replica-count.js";
import { classify, retryDelay } from "./retry-policy.js";
import type { ServerIndex, Target } from "./server-index.js";
import type { ServerLanes } from "./server-lanes.js";

/** Give up after this long when the server sets no maxAgeSeconds: a weekend outage survives. */
export const DEFAULT_MAX_AGE_SECONDS = 3 * 24 * 3600;

export interface DelivererOptions {
  sender: WebhookSender;
  /** The registrations as they are now: an attempt goes to the server as it is registered when it starts. */
  servers: Pick<ServerIndex, "get" | "isDisabled">;
  /** Requests under way, so a dropped server's last one can be waited for. */
  recorder: DeliveryRecorder;
  latest: LatestTracker;
  lanes: ServerLanes;
  js: JetStreamClient;
  redis: Redis;
  keys: RedisKeys;
  prefix: string;
  retrySchedule: number[];
  logger: Logger;
  /** Cross-replica ordering, used while more than one replica runs. */
  order?: { guard: OrderGuard; replicas: ReplicaCount };
  /** Disables a server failing for its whole `disableAfterSeconds` (absent: never). */
  failures?: FailureWindow;
  now?: () => number;
}

/**
 * One attempt to deliver one event to one server, and everything that follows from its outcome:
 * the record, a durable retry, a dead letter, or disabling a server that answered 410 Gone.
 * Every path resolves only once its consequence is stored (Redis or JetStream).
 */
export class Deliverer {
  readonly #o: Required<Omit<DelivererOptions, "order" | "failures">> & Pick<DelivererOptions, "order" | "failures">;

  constructor(options: DelivererOptions) {
    this.#o = { now: () => Date.now(), ...options };
  }

  async attempt(target: Target, envelope: Envelope, attempt: number, firstAttemptAt: string): Promise<void> {
    const order = this.#o.order?.replicas.many ? this.#o.order.guard : undefined;
    if (order && (await order.claim(target.name, envelope.uid, envelope.resourceVersion)) === "superseded") {
      this.#o.recorder.record(target.name, {
        eventId: envelope.id,
        attempt,
        status: 0,
        outcome: "superseded",
        durationMs: 0,
        at: new Date(this.#o.now()).toISOString(),
      });
      return;
    }
    let delivered = false;
    try {
      // Looked up after the claim (which can wait): a server deleted or disabled since the event
      // was matched gets nothing, and a changed one is sent to as it is now (URL, secret).
      const live = this.#o.servers.get(target.name);
      if (live) delivered = await this.#attempt(live, envelope, attempt, firstAttemptAt);
      else await this.unavailable(target.name, envelope, attempt);
    } finally {
      await order?.release(target.name, envelope.uid, envelope.resourceVersion, delivered);
    }
  }

  /**
   * JSON bodies per envelope and shape (Secret values, payload, managedFields), so fan-out to many
   * servers serializes each event once per distinct shape, not once per server.
   */
  readonly #bodies = new WeakMap<Envelope, Map<string, SerializedEvent>>();

  /**
   * The body for this server. The envelope itself stays sealed and whole (it is what retries park
   * and dead letters keep): shaping happens here, so retries, replays and snapshots get the shape
   * the server has when they are sent. Only bodies with includeSecretData hold opened Secret
   * values. Throws SealedSecretValuesError.
   */
  #serialized(envelope: Envelope, target: Target): SerializedEvent {
    let cached = this.#bodies.get(envelope);
    if (!cached) {
      cached = new Map();
      this.#bodies.set(envelope, cached);
    }
    let event = cached.get(target.shapeKey);
    if (!event) {
      const shown = target.includeSecretData ? this.#opened(envelope, target) : envelope;
      event = { id: envelope.id, body: JSON.stringify(toCloudEvent(shown, target)) };
      cached.set(target.shapeKey, event);
    }
    return event;
  }

  #opened(envelope: Envelope, target: Target): Envelope {
    if (envelope.sealedSecretValues === undefined) return envelope;
    if (!target.secretValuesBox) throw new SealedSecretValuesError(envelope.id, new Error("no key to open them"));
    return openSecretValues(envelope, target.secretValuesBox);
  }

  /** True when the server took the event. */
  async #attempt(target: Target, envelope: Envelope, attempt: number, firstAttemptAt: string): Promise<boolean> {
    const { sender, recorder, latest, lanes } = this.#o;
    // Built only on the paths that log: a child logger per delivery is measurable at fan-out.
    const log = () => this.#o.logger.child({ server: target.name, eventId: envelope.id });
    let body: SerializedEvent;
    try {
      body = this.#serialized(envelope, target);
    } catch (err) {
      if (!(err instanceof SealedSecretValuesError)) throw err;
      // Sending it redacted would look like success to a server that asked for the values.
      const at = new Date(this.#o.now()).toISOString();
      recorder.record(target.name, {
        eventId: envelope.id,
        attempt,
        status: 0,
        outcome: "dead-lettered",
        error: err.message,
        durationMs: 0,
        at,
      });
      await this.deadLetter(target.name, envelope, 0, err.message, attempt);
      log().error({ err: err.message }, "cannot open sealed Secret values; dead-lettered");
      return false;
    }
    const result = await sender.send(target, body);
    const record: DeliveryRecord = {
      eventId: envelope.id,
      attempt,
      status: result.status,
      outcome: "delivered",
      durationMs: result.durationMs,
      at: new Date(this.#o.now()).toISOString(),
    };
    if (result.error) record.error = result.error;
    if (result.ok) {
      recorder.record(target.name, record);
      recorder.delivered(target.name, envelope.uid, envelope.resourceVersion);
      lanes.setFailing(target.name, false);
      if (latest.mayHaveRetries(target.name))
        await latest.delivered(target.name, envelope.uid, envelope.resourceVersion);
      return true;
    }
    const verdict = classify(result.status, result.errorCode);
    const expired =
      verdict === "disable"
        ? undefined
        : await this.#o.failures?.failed(target.stored, result.error ?? `HTTP ${result.status}`);
    if (verdict === "retry" && !expired) {
      const age = (this.#o.now() - Date.parse(firstAttemptAt)) / 1000;
      const { maxAttempts, maxAgeSeconds = DEFAULT_MAX_AGE_SECONDS } = target.stored.retry;
      if ((maxAttempts !== undefined && attempt >= maxAttempts) || age >= maxAgeSeconds) {
        recorder.record(target.name, { ...record, outcome: "dead-lettered" });
        await this.deadLetter(
          target.name,
          envelope,
          result.status,
          `gave up after ${attempt} attempts: ${result.error ?? `HTTP ${result.status}`}`,
          attempt,
        );
        log().warn({ status: result.status, attempt }, "delivery failed for good; dead-lettered");
        return false;
      }
      lanes.setFailing(target.name, true);
      const delay = retryDelay(this.#o.retrySchedule, attempt, result.retryAfterMs);
      await this.park(target.name, envelope, attempt + 1, firstAttemptAt, delay, "retry");
      recorder.record(target.name, { ...record, outcome: "retrying" });
      log().warn(
        { status: result.status, error: result.error, attempt, retryInMs: delay },
        "delivery failed; will retry",
      );
      return false;
    }
    if (verdict === "disable" || expired) {
      const reason = expired ?? `answered 410 Gone at ${record.at}`;
      recorder.record(target.name, { ...record, outcome: "disabled" });
      // The failure window wrote its reason and time itself, in the step that decided it.
      if (!expired) recorder.disable(target.name, reason, record.at);
      await this.deadLetter(target.name, envelope, result.status, `server was disabled: ${reason}`, attempt);
      // Every dispatcher reloads its server list and stops delivering to this one.
      await publishChangeNotice(this.#o.redis, this.#o.keys.changes, {
        kind: "server",
        name: target.name,
        op: "updated",
      });
      if (expired) log().warn({ reason }, "server failed for its whole failure window; disabled");
      else log().warn("server answered 410 Gone; disabled");
      return false;
    }
    recorder.record(target.name, { ...record, outcome: "dead-lettered" });
    // An egress refusal's error starts with "egress denied", the reason docs/contract.md names.
    await this.deadLetter(target.name, envelope, result.status, result.error ?? `HTTP ${result.status}`, attempt);
    log().warn({ status: result.status, errorCode: result.errorCode }, "delivery rejected; dead-lettered");
    return false;
  }

  /**
   * A delivery to a server that is not receiving: dead-lettered while it is disabled (to be
   * replayed once it is enabled again), dropped when it is no longer registered.
   */
  async unavailable(server: string, envelope: Envelope, attempt: number): Promise<void> {
    if (!this.#o.servers.isDisabled(server)) {
      this.#o.logger.info({ server, eventId: envelope.id }, "server no longer registered; delivery dropped");
      return;
    }
    const error = "server is disabled";
    await this.deadLetter(server, envelope, 0, error, attempt - 1);
    this.#o.recorder.record(server, {
      eventId: envelope.id,
      attempt,
      status: 0,
      outcome: "dead-lettered",
      error,
      durationMs: 0,
      at: new Date(this.#o.now()).toISOString(),
    });
  }

  /** Adds the event to the server's dead letters; resolves once that is in Redis. */
  async deadLetter(server: string, envelope: Envelope, status: number, error: string, attempts: number): Promise<void> {
    const entry = {
      id: randomUUID(),
      eventId: envelope.id,
      status,
      error,
      attempts,
      at: new Date(this.#o.now()).toISOString(),
      envelope,
    };
    this.#o.recorder.deadLetter(server, entry);
    await this.#o.recorder.flush();
  }

  /**
   * Puts a delivery in the durable per-server queue, to be tried after `delayMs`. Its message id
   * makes a second park of the same attempt (a redelivered event) a no-op. `rateSlot`: the delay
   * is the slot the server's rate limit gave it, to be sent then without asking the limit again.
   */
  async park(
    server: string,
    envelope: Envelope,
    attempt: number,
    firstAttemptAt: string,
    delayMs: number,
    reason: DeliveryRequest["reason"],
    rateSlot = false,
  ): Promise<void> {
    const request: DeliveryRequest = {
      server,
      envelope,
      attempt,
      firstAttemptAt,
      notBefore: new Date(this.#o.now() + delayMs).toISOString(),
      reason,
      ...(rateSlot ? { rateSlot } : {}),
    };
    await this.#o.latest.markPending(server, envelope.uid, envelope.resourceVersion);
    await this.#o.js.publish(deliverySubject(this.#o.prefix, server), JSON.stringify(request), {
      // A delivery parked for its rate-limit slot may have been parked before (a retry coming due).
      msgID: `${envelope.id}|${server}|${attempt}|${reason}${rateSlot ? "|slot" : ""}`,
    });
  }
}
