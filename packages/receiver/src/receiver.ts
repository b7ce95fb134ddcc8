import type { IncomingHttpHeaders } from "node:http";
import { type CloudEvent, type ObjectEventData, parseEvent } from "./cloud-event.js";
import { ReceiverError, StoreError } from "./errors.js";
import { decodeSecrets, verifySignature } from "./signature.js";
import { StateEngine } from "./state-engine.js";
import { memoryStore, type ReceiverStore } from "./store.js";
import { RecentIds } from "./recent-ids.js";

/** An object event as the receiver applied it: the CloudEvent with mcic's envelope as `data`. */
export type ObjectEvent = CloudEvent & { data: ObjectEventData };
export type ReceiverState = ReadonlyMap<string, Readonly<Record<string, unknown>>>;

export interface ReceiverOptions {
  /** `whsec_…` secrets; during a rotation give the old and the new one: either verifies. */
  secrets: readonly string[];
  /** Called after an object event changed the state (not for duplicates or older versions). */
  onEvent?: (event: ObjectEvent, state: ReceiverState) => void | Promise<void>;
  /** Called after every change of the state: applied events and snapshot sweeps. */
  onChange?: (state: ReceiverState) => void | Promise<void>;
  /** Where errors of callbacks and timed sweeps go (default: console.error). */
  onError?: (err: unknown) => void;
  /** Keeps the state across restarts (default: memory only); see fileStore(). */
  store?: ReceiverStore;
  /** How long a deleted object's tombstone refuses older events (default 3 days, mcic's default retry.maxAgeSeconds). */
  tombstoneTtlMs?: number;
  /** Sweep a completed snapshot this long after its completion event even if objects are missing (default 60 s). */
  sweepAfterMs?: number;
  /** Largest body accepted (default 8 MiB); larger is 413. */
  maxBodyBytes?: number;
  /** How many recent webhook-ids are remembered to answer duplicates at once (default 10 000). */
  recentIds?: number;
  /** The clock, in ms (tests). */
  now?: () => number;
}

export interface ReceiverRequest {
  method?: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ReceiverResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type Outcome = "applied" | "ignored" | "duplicate";

const json = (status: number, body: unknown, type = "application/json"): ReceiverResponse => ({
  status,
  headers: { "content-type": type },
  body: JSON.stringify(body),
});

function problem(err: ReceiverError): ReceiverResponse {
  return json(
    err.status,
    {
      type: `urn:mcic:receiver:${err.code}`,
      title: err.code.replaceAll("_", " "),
      status: err.status,
      detail: err.message,
      ...(err.field ? { errors: [{ path: err.field, message: err.message }] } : {}),
    },
    "application/problem+json",
  );
}

const header = (headers: IncomingHttpHeaders, name: string) => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The transport-free core of a receiver: the node:http, Koa and Express handlers all call it. */
export class ReceiverCore {
  readonly engine: StateEngine;
  readonly ready: Promise<void>;
  readonly maxBodyBytes: number;
  private readonly keys: Buffer[];
  private readonly recent: RecentIds;
  private readonly now: () => number;
  private readonly onError: (err: unknown) => void;
  private queue: Promise<unknown> = Promise.resolve();
  private prune: NodeJS.Timeout | undefined;

  constructor(private readonly o: ReceiverOptions) {
    this.keys = decodeSecrets(o.secrets);
    this.now = o.now ?? Date.now;
    this.maxBodyBytes = o.maxBodyBytes ?? 8 * 1024 * 1024;
    this.recent = new RecentIds(o.recentIds ?? 10_000);
    this.onError = o.onError ?? ((err) => console.error("@mcic/receiver: callback or sweep failed", err));
    const tombstoneTtlMs = o.tombstoneTtlMs ?? 3 * 24 * 3600_000;
    this.engine = new StateEngine({
      store: o.store ?? memoryStore(),
      tombstoneTtlMs,
      sweepAfterMs: o.sweepAfterMs ?? 60_000,
      now: this.now,
      changed: () => this.call(() => o.onChange?.(this.engine.state)),
      failed: this.onError,
    });
    this.engine.schedule = (task) => void this.serial(task);
    this.ready = this.serial(() => this.engine.load());
    // A failed load answers 503 to every request (and goes to onError); a good one shows the
    // state that survived the restart to onChange at once.
    this.ready.then(
      () => this.call(() => o.onChange?.(this.engine.state)),
      (err) => this.onError(err),
    );
    this.prune = setInterval(
      () => void this.serial(() => this.engine.pruneTombstones()).catch(this.onError),
      Math.min(tombstoneTtlMs, 3600_000),
    );
    this.prune.unref();
  }

  async handle(req: ReceiverRequest): Promise<ReceiverResponse> {
    try {
      if (req.method !== undefined && req.method !== "POST") {
        return { ...json(405, { detail: "POST only" }), headers: { allow: "POST" } };
      }
      const webhookId = header(req.headers, "webhook-id");
      verifySignature(
        this.keys,
        {
          id: webhookId,
          timestamp: header(req.headers, "webhook-timestamp"),
          signature: header(req.headers, "webhook-signature"),
        },
        req.body,
        this.now(),
      );
      const parsed = parseEvent(req.body);
      try {
        await this.ready;
      } catch (err) {
        throw err instanceof ReceiverError
          ? err
          : new StoreError("the receiver's store could not be loaded", { cause: err });
      }
      // A snapshot re-delivers an object under its usual event id: it counts for the snapshot anyway.
      const requestId = parsed.kind === "object" && parsed.data.snapshot ? parsed.data.requestId : undefined;
      const dedupeId = `${webhookId}\n${requestId ?? ""}`;
      const outcome = await this.serial(async (): Promise<Outcome> => {
        if (this.recent.has(dedupeId)) return "duplicate";
        let result: Outcome = "ignored";
        if (parsed.kind === "object") {
          if (await this.engine.applyObject(parsed.data)) {
            result = "applied";
            const event = parsed.event as ObjectEvent;
            this.call(() => this.o.onEvent?.({ ...event, data: parsed.data }, this.engine.state));
          }
        } else if (parsed.kind === "snapshot-completed") {
          result = (await this.engine.completed(parsed.data)) ? "applied" : "ignored";
        }
        this.recent.add(dedupeId);
        return result;
      });
      return json(200, { outcome });
    } catch (err) {
      if (err instanceof ReceiverError) return problem(err);
      throw err;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.prune);
    this.engine.close();
    await this.queue.catch(() => undefined);
  }

  /** One event at a time: the rules and the store writes of one must not interleave with another's. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private call(fn: () => void | Promise<void> | undefined): void {
    try {
      Promise.resolve(fn()).catch(this.onError);
    } catch (err) {
      this.onError(err);
    }
  }
}
