import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "@mcic/core/testing";

/** The repository root: the nearest folder up from here with services/ (works from src and dist). */
function findRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, "services", "api", "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no mcic checkout above ${from}`);
    dir = up;
  }
  return dir;
}

/** The repository root (a checkout of mcic). */
export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

export type ServiceName = "api" | "watcher" | "dispatcher";

/** One service running as its own process, started the way users start it (`node dist/main.js`). */
export interface ServiceProcess {
  readonly name: ServiceName;
  readonly child: ChildProcess;
  /** Every log line it printed, parsed when JSON. */
  readonly lines: string[];
  /** Waits for a log line with this `msg` (and these fields, when given) and returns it parsed. */
  waitForLog(msg: string, timeoutMs?: number, fields?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Sends a signal and resolves with the exit code (or the signal name). */
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface StackOptions {
  natsUrl: string;
  redisUrl: string;
  prefix?: string;
  secretKey?: string;
  tokens?: string[];
  env?: Record<string, string>;
  /** How long each service may take to come up (default 60 s: a loaded 2-core machine needs 15 s and more). */
  startTimeoutMs?: number;
}

export function newSecretKey(): string {
  return randomBytes(32).toString("base64");
}

export function startService(name: ServiceName, env: Record<string, string>, nodeArgs: string[] = []): ServiceProcess {
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, "services", name, "dist", "main.js")], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let partial = "";
  const onData = (chunk: Buffer) => {
    partial += chunk.toString("utf8");
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts.filter(Boolean));
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    name,
    child,
    lines,
    waitForLog: (msg, timeoutMs = 15_000, fields = {}) =>
      waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${lines.join("\n")}`);
          for (const line of lines) {
            try {
              const parsed = JSON.parse(line) as Record<string, unknown>;
              if (parsed.msg === msg && Object.entries(fields).every(([k, v]) => parsed[k] === v)) return parsed;
            } catch {
              // Not a log line (a startup error printed by exitOnStartupError).
            }
          }
          return undefined;
        },
        { timeoutMs, message: `${name} to log "${msg}"` },
      ),
    kill: async (signal = "SIGTERM") => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      return exited;
    },
  };
}

/** api + watcher + dispatcher as processes against the given NATS and Redis. */
export interface Stack {
  readonly apiUrl: string;
  readonly secretKey: string;
  readonly services: Record<ServiceName, ServiceProcess>;
  /** Environment the services were started with, to start more replicas alike. */
  readonly env: Record<string, string>;
  api(
    path: string,
    init?: { method?: string; body?: unknown; token?: string },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const secretKey = options.secretKey ?? newSecretKey();
  const env: Record<string, string> = {
    NATS_URL: options.natsUrl,
    REDIS_URL: options.redisUrl,
    MCIC_PREFIX: options.prefix ?? "mcic",
    MCIC_SECRET_KEY: secretKey,
    API_PORT: "0",
    METRICS_PORT: "0",
    LOG_LEVEL: "info",
    ...(options.tokens ? { API_TOKENS: options.tokens.join(",") } : {}),
    ...options.env,
  };
  const services = {
    api: startService("api", env),
    watcher: startService("watcher", env),
    dispatcher: startService("dispatcher", env),
  };
  let listening: Record<string, unknown>;
  try {
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    listening = await services.api.waitForLog("listening", timeoutMs);
    await Promise.all([
      services.watcher.waitForLog("ready", timeoutMs),
      services.dispatcher.waitForLog("ready", timeoutMs),
    ]);
  } catch (err) {
    // A stack that did not come up is nobody's to stop: do not leave its processes behind.
    await Promise.all(Object.values(services).map((s) => s.kill("SIGKILL")));
    throw err;
  }
  const apiUrl = `http://127.0.0.1:${listening.port}`;
  const token = options.tokens?.[0];
  return {
    apiUrl,
    secretKey,
    services,
    env,
    api: async (path, init = {}) => {
      const headers: Record<string, string> = {};
      if (init.body !== undefined) headers["content-type"] = "application/json";
      const bearer = init.token ?? token;
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      const res = await fetch(`${apiUrl}${path}`, {
        method: init.method ?? (init.body === undefined ? "GET" : "POST"),
        headers,
        body:
          init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON: keep the text.
      }
      return { status: res.status, body, headers: res.headers };
    },
    stop: async () => {
      await Promise.all(Object.values(services).map((s) => s.kill("SIGTERM")));
    },
  };
}

/**
 * Sums every sample of a Prometheus metric a worker service exposes (its /metrics on the port it
 * logged at "ready"), optionally only those whose labels contain `labels` (e.g. 'server="x"').
 */
export async function scrapeMetric(svc: ServiceProcess, name: string, labels = ""): Promise<number> {
  const ready = await svc.waitForLog("ready");
  const text = await (await fetch(`http://127.0.0.1:${ready.metricsPort}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(name) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
}
