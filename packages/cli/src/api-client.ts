import type { z } from "zod";
import { ApiError, UnexpectedResponseError, UnreachableError, UsageError } from "./errors.js";
import { ProblemSchema } from "./views.js";

export interface ApiClientOptions {
  /** Where the API is, as the user gave it: `http://host:8000`, with or without `/api/v1`. */
  api: string;
  /** Where `api` came from, for messages: "--api" (default) or "MCIC_API". */
  apiFrom?: string;
  token?: string | undefined;
  /** Per request, not for streams. */
  timeoutMs?: number;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
}

export interface ApiAnswer<T> {
  value: T;
  headers: Headers;
  status: number;
}

/** Parses the --api value; the CLI speaks to `<origin>/api/v1`. */
export function apiBase(text: string, from = "--api"): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${from} ${JSON.stringify(text)} is not a URL`, "e.g. http://127.0.0.1:8000");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${from} must be an http:// or https:// URL, not ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new UsageError(
      `${from} must not contain a user name or password`,
      "give the token with --token or MCIC_TOKEN",
    );
  }
  const path = url.pathname.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
  return new URL(`${url.origin}${path}/api/v1`);
}

/** A name in a path: names are DNS labels, but whatever the user typed must not change the route. */
export const seg = (name: string) => encodeURIComponent(name);

/** The CLI's one way to the REST API: every answer checked, every failure a CliError. */
export class ApiClient {
  readonly base: URL;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.base = apiBase(options.api, options.apiFrom);
    this.#token = options.token || undefined;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** What error messages call the API: its origin, never a token. */
  get shownUrl(): string {
    return this.base.origin;
  }

  url(path: string, query: RequestOptions["query"] = {}): URL {
    const url = new URL(`${this.base.pathname}${path}`, this.base.origin);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== "") url.searchParams.set(key, String(value));
    }
    return url;
  }

  async request<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    options: RequestOptions = {},
  ): Promise<ApiAnswer<z.infer<S>>> {
    const res = await this.send(method, path, options, AbortSignal.timeout(this.#timeoutMs));
    const text = await res.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new UnexpectedResponseError(`${method} ${path}`, `not JSON (HTTP ${res.status})`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new UnexpectedResponseError(
        `${method} ${path}`,
        first ? `${first.path.join(".") || "(body)"}: ${first.message}` : "invalid",
      );
    }
    return { value: parsed.data, headers: res.headers, status: res.status };
  }

  get<S extends z.ZodType>(path: string, schema: S, query?: RequestOptions["query"]): Promise<z.infer<S>> {
    return this.request("GET", path, schema, { query }).then((a) => a.value);
  }

  /** An open streaming answer (Server-Sent Events); `signal` ends it. */
  async stream(path: string, query: RequestOptions["query"], signal: AbortSignal): Promise<Response> {
    return this.send("GET", path, { query, signal, contentType: undefined }, signal, "text/event-stream");
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    signal: AbortSignal,
    accept = "application/json",
  ): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["content-type"] = options.contentType ?? "application/json";
    }
    let res: Response;
    try {
      res = await fetch(this.url(path, options.query), { method, headers, body, signal, redirect: "manual" });
    } catch (err) {
      throw new UnreachableError(this.shownUrl, reasonOf(err, this.#timeoutMs), err);
    }
    if (res.status >= 200 && res.status < 300) return res;
    throw await apiErrorOf(res, `${method} ${path}`);
  }
}

/** Why fetch failed, in the words of the system call when there is one ("connect ECONNREFUSED ..."). */
function reasonOf(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError") return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  if (e.name === "AbortError") return "aborted";
  return e.cause?.message || e.cause?.code || e.message;
}

/** An error answer as `error: <title>: <detail>` plus each field error. Never echoes a body that is not a problem. */
async function apiErrorOf(res: Response, what: string): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  let problem: ReturnType<typeof ProblemSchema.safeParse> | undefined;
  try {
    problem = ProblemSchema.safeParse(JSON.parse(text));
  } catch {
    problem = undefined;
  }
  const hint =
    res.status === 401
      ? ["hint: set the API token with --token or the MCIC_TOKEN environment variable"]
      : ([] as string[]);
  if (problem?.success && (problem.data.title || problem.data.detail)) {
    const p = problem.data;
    const head = [p.title ?? `HTTP ${res.status}`, p.detail].filter(Boolean).join(": ");
    const fields = (p.errors ?? []).map((e) => `  ${e.path}: ${e.message}`);
    return new ApiError(res.status, head, [...fields, ...hint]);
  }
  const reason = res.statusText ? ` ${res.statusText}` : "";
  return new ApiError(res.status, `HTTP ${res.status}${reason} from ${what}`, hint);
}
