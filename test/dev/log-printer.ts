import { prettyFactory } from "pino-pretty";

/**
 * Messages logged once per retry, and the field naming what is retried: under `make run` a server
 * or cluster that is down would otherwise print one line per attempt.
 */
const RETRY_MESSAGES: Record<string, string> = {
  "delivery failed; will retry": "server",
  "watch failed": "cluster",
};

export interface LogPrinterOptions {
  /** `json` passes the services' JSON lines through as written (LOG_FORMAT=json). */
  format: "pretty" | "json";
  write(text: string): void;
  colors?: boolean;
}

interface Retries {
  source: string;
  subject: string;
  count: number;
  lastError: string;
}

/**
 * The log output of `make run`: pino's JSON lines made readable (ISO times, one line each, prefixed
 * by the process) and, in pretty mode, retries of one server or cluster folded: the first of a
 * window is printed, the rest are counted and summarised by `summarise()`.
 */
export class LogPrinter {
  readonly #o: LogPrinterOptions;
  readonly #pretty: (line: Record<string, unknown>) => string;
  readonly #retries = new Map<string, Retries>();

  constructor(options: LogPrinterOptions) {
    this.#o = options;
    this.#pretty = prettyFactory({
      colorize: options.colors ?? false,
      singleLine: true,
      translateTime: "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'",
      ignore: "pid,hostname,service,name",
      // pino-pretty prints err/error on lines of their own; here they are short strings.
      errorLikeObjectKeys: [],
    });
  }

  #prefix(source: string): string {
    return this.#o.colors ? `\x1b[36m[${source}]\x1b[0m ` : `[${source}] `;
  }

  /** One line a process printed. */
  line(source: string, text: string): void {
    if (this.#o.format === "json" && text.startsWith("{")) {
      this.#o.write(`${text}\n`);
      return;
    }
    let parsed: Record<string, unknown> | undefined;
    try {
      const value: unknown = JSON.parse(text);
      if (value !== null && typeof value === "object" && !Array.isArray(value))
        parsed = value as Record<string, unknown>;
    } catch {
      // Not a pino line (kube-sim's own output): printed as it is.
    }
    if (!parsed || this.#o.format === "json") {
      this.#o.write(`${this.#prefix(source)}${text}\n`);
      return;
    }
    const field = RETRY_MESSAGES[String(parsed.msg)];
    const subject = field === undefined ? undefined : parsed[field];
    if (typeof subject === "string") {
      const key = `${source}\0${subject}`;
      const seen = this.#retries.get(key);
      const lastError = String(parsed.error ?? parsed.err ?? `HTTP ${parsed.status ?? "?"}`);
      if (seen) {
        seen.count++;
        seen.lastError = lastError;
        return;
      }
      this.#retries.set(key, { source, subject, count: 0, lastError });
    }
    this.#o.write(`${this.#prefix(source)}${this.#pretty(parsed).trimEnd()}\n`);
  }

  /** Prints how many retries were folded since the last call, per server or cluster, and starts over. */
  summarise(windowLabel: string): void {
    for (const r of this.#retries.values()) {
      if (r.count === 0) continue;
      const what = r.count === 1 ? "retry" : "retries";
      this.#o.write(
        `${this.#prefix(r.source)}${r.subject}: ${r.count} more ${what} in the last ${windowLabel}, last error ${r.lastError}\n`,
      );
    }
    this.#retries.clear();
  }
}
