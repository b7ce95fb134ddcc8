import { Agent, type Dispatcher } from "undici";
import { type EgressPolicy, defaultEgressPolicy, isEgressDenied } from "./egress-policy.js";
import { type FailureClass, failureClass } from "./failure-class.js";
import { type CloudEvent, signWebhook } from "./webhook.js";

/** A CloudEvent already turned into its JSON body. */
export interface SerializedEvent {
  id: string;
  body: string;
}

/** Where and how to deliver: what the sender needs of a registered server. */
export interface WebhookTarget {
  url: string;
  /** HMAC key: the bytes after `whsec_`, decoded. */
  key: Buffer;
  /**
   * The key of the secret a rotation replaced, and when it stops signing (epoch ms). Checked at
   * send time, so a long-lived target stops using it on time without being rebuilt.
   */
  previous?: { key: Buffer; expiresAt: number };
  /** Extra headers the server asked for. */
  headers: Record<string, string>;
}

export interface AttemptResult {
  ok: boolean;
  /** HTTP status, or 0 when no answer came (timeout, connection refused). */
  status: number;
  /** What went wrong when no answer came, in detail: for logs and the delivery log. */
  error?: string;
  /** The same in a few fixed words, safe to show to whoever registered the URL. */
  errorClass?: FailureClass;
  durationMs: number;
  /** From Retry-After, when the server asked for a pause. */
  retryAfterMs?: number;
  /** Set when the egress policy refused the connection: retrying cannot help (dead-letter at once). */
  errorCode?: "egress_denied";
}

export interface SenderOptions {
  timeoutMs: number;
  now?: () => number;
  /** Which addresses deliveries may reach (default: SPEC's default deny list). */
  egress?: EgressPolicy;
}

/** The keys a delivery is signed with at `nowMs`: the current one first, the previous until it expires. */
export function signingKeys(target: Pick<WebhookTarget, "key" | "previous">, nowMs: number): Buffer[] {
  const { key, previous } = target;
  return previous && nowMs < previous.expiresAt ? [key, previous.key] : [key];
}

/** Parses Retry-After as seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * POSTs CloudEvents signed as Standard Webhooks. One undici Agent keeps a pool of connections per
 * origin, so a slow server holds its own sockets, not everyone's.
 */
export class WebhookSender {
  readonly #agent: Dispatcher;
  readonly #o: Required<Omit<SenderOptions, "egress">>;

  constructor(options: SenderOptions) {
    const { egress = defaultEgressPolicy(), ...rest } = options;
    this.#o = { now: () => Date.now(), ...rest };
    this.#agent = new Agent({
      connections: 64,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: egress.connector(),
    });
  }

  /** The exact bytes and headers sent for an event; the same id and body on every retry. */
  render(
    target: WebhookTarget,
    event: CloudEvent | SerializedEvent,
  ): { body: string; headers: Record<string, string> } {
    const body = "body" in event ? event.body : JSON.stringify(event);
    const now = this.#o.now();
    const timestamp = Math.floor(now / 1000);
    return {
      body,
      headers: {
        ...target.headers,
        "content-type": "application/cloudevents+json",
        "webhook-id": event.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signWebhook(signingKeys(target, now), event.id, timestamp, body),
      },
    };
  }

  /**
   * Sends one event. Pass a SerializedEvent to share one JSON body among many servers (fan-out):
   * only the signature differs per server.
   */
  async send(target: WebhookTarget, event: CloudEvent | SerializedEvent): Promise<AttemptResult> {
    const { body, headers } = this.render(target, event);
    const started = performance.now();
    const { origin, path } = splitUrl(target.url);
    try {
      // undici's own timeouts, not an AbortSignal.timeout per request: a timer each is measurable.
      const res = await this.#agent.request({
        origin,
        path,
        method: "POST",
        headers,
        body,
        headersTimeout: this.#o.timeoutMs,
        bodyTimeout: this.#o.timeoutMs,
      });
      // Read and drop the body so the connection goes back to the pool.
      await res.body.dump();
      const result: AttemptResult = {
        ok: res.statusCode >= 200 && res.statusCode < 300,
        status: res.statusCode,
        durationMs: Math.round(performance.now() - started),
      };
      const retryAfter = parseRetryAfter(res.headers["retry-after"], this.#o.now());
      if (retryAfter !== undefined) result.retryAfterMs = retryAfter;
      return result;
    } catch (err) {
      const durationMs = Math.round(performance.now() - started);
      const errorClass = failureClass(err);
      if (isEgressDenied(err))
        return { ok: false, status: 0, error: err.message, errorClass, errorCode: "egress_denied", durationMs };
      const code = (err as { code?: string }).code;
      const timedOut = code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT";
      const error = timedOut ? `timed out after ${this.#o.timeoutMs} ms` : (err as Error).message;
      return { ok: false, status: 0, error, errorClass, durationMs };
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

const URLS = new Map<string, { origin: string; path: string }>();

/** Origin and path of a server URL, parsed once per URL (URL parsing per request adds up). */
function splitUrl(url: string): { origin: string; path: string } {
  let parts = URLS.get(url);
  if (!parts) {
    const u = new URL(url);
    parts = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (URLS.size > 10_000) URLS.clear();
    URLS.set(url, parts);
  }
  return parts;
}
