import { type Connection, type EgressPolicy, type KubeObject, McicError, defaultEgressPolicy } from "@mcic/core";
import { Agent, Client, Pool, type buildConnector, request } from "undici";
import type { RateLimiter } from "./rate-limiter.js";
import {
  DEFAULT_READ_LIMITS,
  MAX_ERROR_BODY,
  ReadLimitError,
  type ReadLimits,
  readCapped,
  readHead,
} from "./read-limits.js";
import { StreamRefused, streamLines } from "./watch-stream.js";

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

function failure(statusCode: number, body: string, path: string): KubeApiError {
  let detail = "";
  try {
    detail = (JSON.parse(body) as { message?: string }).message ?? "";
  } catch {
    // Not a Status object (a proxy's HTML, say): the HTTP status says enough.
  }
  const hint =
    statusCode === 401
      ? "unauthorized: check the token or client certificate"
      : statusCode === 403
        ? "forbidden: the credentials lack list/watch permission"
        : "";
  return new KubeApiError(
    statusCode,
    `GET ${path}: HTTP ${statusCode}${hint ? ` (${hint})` : ""}${detail ? `: ${detail}` : ""}`,
  );
}

/**
 * The object's bytes inside a watch line, when the line is exactly `{"type":T,"object":O}` as API
 * servers write it. The prefix and the closing brace are ASCII, so the text's offsets hold in its
 * bytes. Undefined for any other shape (the caller then serialises the parsed object).
 */
export function rawObjectBytes(line: string, bytes: Buffer, event: WatchEvent): Buffer | undefined {
  const prefix = `{"type":"${event.type}","object":`;
  if (!line.startsWith(prefix) || !line.endsWith("}")) return undefined;
  let members = 0;
  for (const _ in event) members++;
  return members === 2 ? bytes.subarray(prefix.length, bytes.length - 1) : undefined;
}

/** Streams one HTTP/2 connection carries at once (Go's API server default is 250; undici's own 100). */
const H2_STREAMS = 100;

/**
 * An undici Client that multiplexes once the server has agreed to HTTP/2. undici counts every
 * request in flight against `pipelining` (default 1) whatever the protocol, so without this each
 * watch would still open its own connection; for HTTP/1.1 it must stay 1, or requests would queue
 * behind a watch that lasts minutes.
 */
function multiplexingClient(origin: string | URL, connect: buildConnector.connector, options: Client.Options): Client {
  let h2 = false;
  const client: Client = new Client(origin, {
    ...options,
    allowH2: true,
    connect: (opts, callback) =>
      connect(opts, (err, socket) => {
        h2 = (socket as { alpnProtocol?: string | false } | null)?.alpnProtocol === "h2";
        callback(err, socket as never);
      }),
  });
  client.on("connect", () => {
    client.pipelining = h2 ? H2_STREAMS : 1;
  });
  return client;
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
  readonly #limits: ReadLimits;
  /** Whether a connection was ever made; until then #opening is the request trying (#afterFirstConnection). */
  #connected = false;
  #opening: Promise<void> | undefined;

  /**
   * `egress` decides which addresses the API server may resolve to (default: SPEC's deny list);
   * `limits` bound what one answer may hold in memory (DEFAULT_READ_LIMITS); `http2` lets the
   * watches share one HTTP/2 connection when the API server offers it (off: HTTP/1.1, one
   * connection per watch).
   */
  constructor(
    conn: Connection,
    limiter?: RateLimiter,
    egress: EgressPolicy = defaultEgressPolicy(),
    limits: Partial<ReadLimits> = {},
    http2 = false,
  ) {
    this.#limiter = limiter;
    this.#limits = { ...DEFAULT_READ_LIMITS, ...limits };
    this.#base = conn.server.replace(/\/$/, "");
    this.#headers = { accept: "application/json" };
    if (conn.token) this.#headers.authorization = `Bearer ${conn.token}`;
    const connect = egress.connector({
      allowH2: http2,
      ca: conn.caData,
      cert: conn.certData,
      key: conn.keyData,
      rejectUnauthorized: !conn.insecureSkipTLSVerify,
      servername: conn.tlsServerName,
    });
    const clientOptions = {
      headersTimeout: 30_000,
      // Watch streams are idle between events; the server ends them after timeoutSeconds.
      bodyTimeout: 0,
    };
    // API servers speak HTTP/2 (ALPN, over TLS only): every watch of the cluster then shares one
    // connection and one file descriptor instead of holding one each, as client-go does.
    this.#agent = http2
      ? new Agent({
          allowH2: true,
          connections: 8,
          ...clientOptions,
          factory: (origin) =>
            new Pool(origin, { connections: 8, factory: (o) => multiplexingClient(o, connect, clientOptions) }),
        })
      : new Agent({ connect, connections: 8, ...clientOptions });
  }

  /**
   * Until the cluster has one connection, requests go one at a time; then all at once. undici
   * opens a new connection for each request it cannot place on an open one, so the watches of a
   * cluster, starting together, would each open their own before the first had negotiated
   * HTTP/2 and could carry them all. A failed attempt lets the next request try alone, so a slow
   * or refusing server does not get a burst of handshakes either. Once connected, later
   * reconnects are not held back.
   */
  async #afterFirstConnection<T>(send: () => Promise<T>): Promise<T> {
    while (!this.#connected && this.#opening) await this.#opening;
    if (this.#connected) return send();
    let settled = false;
    let release = () => {};
    this.#opening = new Promise<void>((resolve) => {
      release = resolve;
    });
    const finish = () => {
      if (settled) return;
      settled = true;
      this.#agent.off("connect", onConnect).off("connectionError", finish);
      this.#opening = undefined;
      release();
    };
    const onConnect = () => {
      this.#connected = true;
      finish();
    };
    this.#agent.once("connect", onConnect).once("connectionError", finish);
    // A request that fails before connecting (aborted, refused by the egress policy) ends its turn too.
    return send().finally(finish);
  }

  async getJson<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
    await this.#limiter?.take(signal);
    const res = await this.#afterFirstConnection(() =>
      request(`${this.#base}${path}${queryString(query)}`, {
        dispatcher: this.#agent,
        headers: this.#headers,
        signal,
        bodyTimeout: 60_000,
      }),
    );
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw failure(res.statusCode, (await readHead(res.body, MAX_ERROR_BODY)).toString("utf8"), path);
    }
    const max = this.#limits.maxBodyBytes;
    const tooLarge = () => new ReadLimitError(`GET ${path}: response body`, max);
    if (Number(res.headers["content-length"] ?? 0) > max) {
      res.body.destroy();
      throw tooLarge();
    }
    return JSON.parse((await readCapped(res.body, max, tooLarge)).toString("utf8")) as T;
  }

  /** Every page of a paginated list, at most `limit` objects a page. */
  async *list(path: string, query: Query & { limit: number }, signal?: AbortSignal): AsyncGenerator<KubeList> {
    let token: string | undefined;
    do {
      const page = await this.getJson<KubeList>(path, { ...query, continue: token }, signal);
      yield page;
      token = page.metadata.continue || undefined;
    } while (token);
  }

  /**
   * Streams watch events to `onEvent`, in order, until the server ends the stream. A promise
   * returned by `onEvent` holds the stream until it settles; a rejection ends the watch with it.
   */
  async watch(
    path: string,
    query: Query,
    signal: AbortSignal,
    onEvent: (event: WatchEvent, rawObject: Buffer | undefined) => undefined | Promise<void>,
  ): Promise<void> {
    await this.#limiter?.take(signal);
    const url = new URL(`${this.#base}${path}${queryString({ ...query, watch: "true" })}`);
    try {
      await this.#afterFirstConnection(() =>
        streamLines(
          this.#agent,
          { origin: url.origin, path: `${url.pathname}${url.search}`, method: "GET", headers: this.#headers },
          signal,
          (bytes) => {
            const line = bytes.toString("utf8");
            const event = JSON.parse(line) as WatchEvent;
            return onEvent(event, rawObjectBytes(line, bytes, event));
          },
          this.#limits.maxLineBytes,
        ),
      );
    } catch (err) {
      if (err instanceof StreamRefused) throw failure(err.statusCode, err.body, path);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
