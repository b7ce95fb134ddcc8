import { Agent, type Dispatcher } from "undici";
import { type CloudEvent, signWebhook } from "./webhook.js";

/** Where and how to deliver: what the sender needs of a registered server. */
export interface WebhookTarget {
  url: string;
  /** HMAC key: the bytes after `whsec_`, decoded. */
  key: Buffer;
  /** Extra headers the server asked for. */
  headers: Record<string, string>;
}

export interface AttemptResult {
  ok: boolean;
  /** HTTP status, or 0 when no answer came (timeout, connection refused). */
  status: number;
  error?: string;
  durationMs: number;
  /** From Retry-After, when the server asked for a pause. */
  retryAfterMs?: number;
}

export interface SenderOptions {
  timeoutMs: number;
  now?: () => number;
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
  readonly #o: Required<SenderOptions>;

  constructor(options: SenderOptions) {
    this.#o = { now: () => Date.now(), ...options };
    this.#agent = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  /** The exact bytes and headers sent for an event; the same id and body on every retry. */
  render(target: WebhookTarget, event: CloudEvent): { body: string; headers: Record<string, string> } {
    const body = JSON.stringify(event);
    const timestamp = Math.floor(this.#o.now() / 1000);
    return {
      body,
      headers: {
        ...target.headers,
        "content-type": "application/cloudevents+json",
        "webhook-id": event.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signWebhook(target.key, event.id, timestamp, body),
      },
    };
  }

  async send(target: WebhookTarget, event: CloudEvent): Promise<AttemptResult> {
    const { body, headers } = this.render(target, event);
    const started = performance.now();
    const signal = AbortSignal.timeout(this.#o.timeoutMs);
    try {
      const res = await this.#agent.request({
        origin: new URL(target.url).origin,
        path: pathOf(target.url),
        method: "POST",
        headers,
        body,
        signal,
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
      const error = signal.aborted ? `timed out after ${this.#o.timeoutMs} ms` : (err as Error).message;
      return { ok: false, status: 0, error, durationMs: Math.round(performance.now() - started) };
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}
