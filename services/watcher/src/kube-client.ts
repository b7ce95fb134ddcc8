import { type Connection, McicError } from "@mcic/core";
import { Agent, type Dispatcher, request } from "undici";
import type { RateLimiter } from "./rate-limiter.js";

/** A Kubernetes object as far as mcic needs to know it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface KubeList {
  kind?: string;
  metadata: { resourceVersion: string; continue?: string };
  items: KubeObject[];
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

/** An API answer other than 2xx; `status` 410 means the resourceVersion is gone. */
export class KubeApiError extends McicError {
  readonly httpStatus: number;
  constructor(httpStatus: number, message: string) {
    super(httpStatus === 410 ? "kube_expired" : "kube_api_error", message, 502);
    this.httpStatus = httpStatus;
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function failure(res: Dispatcher.ResponseData, path: string): Promise<KubeApiError> {
  let detail = "";
  try {
    const body = (await res.body.json()) as { message?: string };
    detail = body.message ?? "";
  } catch {
    // Not a Status object (a proxy's HTML, say): the HTTP status says enough.
  }
  const hint =
    res.statusCode === 401
      ? "unauthorized: check the token or client certificate"
      : res.statusCode === 403
        ? "forbidden: the credentials lack list/watch permission"
        : "";
  return new KubeApiError(
    res.statusCode,
    `GET ${path}: HTTP ${res.statusCode}${hint ? ` (${hint})` : ""}${detail ? `: ${detail}` : ""}`,
  );
}

/**
 * Just enough of a Kubernetes client for list and watch, over an undici Agent holding the
 * cluster's TLS settings. Kept small on purpose: one per cluster, thousands per process.
 */
export class KubeClient {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #agent: Agent;
  readonly #limiter: RateLimiter | undefined;

  constructor(conn: Connection, limiter?: RateLimiter) {
    this.#limiter = limiter;
    this.#base = conn.server.replace(/\/$/, "");
    this.#headers = { accept: "application/json" };
    if (conn.token) this.#headers.authorization = `Bearer ${conn.token}`;
    this.#agent = new Agent({
      connect: {
        ca: conn.caData,
        cert: conn.certData,
        key: conn.keyData,
        rejectUnauthorized: !conn.insecureSkipTLSVerify,
        servername: conn.tlsServerName,
      },
      connections: 8,
      headersTimeout: 30_000,
      // Watch streams are idle between events; the server ends them after timeoutSeconds.
      bodyTimeout: 0,
    });
  }

  async getJson<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
    await this.#limiter?.take(signal);
    const res = await request(`${this.#base}${path}${queryString(query)}`, {
      dispatcher: this.#agent,
      headers: this.#headers,
      signal,
      bodyTimeout: 60_000,
    });
    if (res.statusCode < 200 || res.statusCode >= 300) throw await failure(res, path);
    return (await res.body.json()) as T;
  }

  /** Streams watch events, one parsed JSON line each, until the server ends the stream. */
  async *watch(path: string, query: Query, signal: AbortSignal): AsyncGenerator<WatchEvent> {
    await this.#limiter?.take(signal);
    const res = await request(`${this.#base}${path}${queryString({ ...query, watch: "true" })}`, {
      dispatcher: this.#agent,
      headers: this.#headers,
      signal,
    });
    if (res.statusCode < 200 || res.statusCode >= 300) throw await failure(res, path);
    // setEncoding keeps multi-byte characters split across chunks intact.
    res.body.setEncoding("utf8");
    let partial = "";
    try {
      for await (const chunk of res.body) {
        const lines = (partial + (chunk as string)).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) yield JSON.parse(line) as WatchEvent;
      }
    } finally {
      res.body.destroy();
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
