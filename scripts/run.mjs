#!/usr/bin/env node
// `make run`: the whole mcic stack on one machine, for trying it out and for development.
// Reuses NATS and Redis when they answer at NATS_URL/REDIS_URL, else starts them with data under
// .mcic/ (MCIC_DATA_DIR); starts api, watcher, dispatcher and (unless MCIC_DEMO=0) a simulated
// cluster `demo` over HTTPS with a receiver that prints what it gets. Ctrl-C stops every process
// this script started. `node scripts/run.mjs --reset` (make reset) deletes what make run registered
// and removes the data directory.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { apiClient, isDemoRegistration } from "./lib/api-client.mjs";
import { clearEarlierRun, startDemo } from "./lib/demo.mjs";
import { Processes, answers, say, waitForLine } from "./lib/processes.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const DATA = process.env.MCIC_DATA_DIR ?? join(ROOT, ".mcic");
const RESET = process.argv.includes("--reset");
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const API_PORT = process.env.API_PORT ?? "8000";
const DEMO = process.env.MCIC_DEMO !== "0";
const RECEIVER_PORT = Number(process.env.DEMO_RECEIVER_PORT ?? "8090");
const PID_FILE = join(DATA, "run.pid");
const shown = relative(process.cwd(), DATA) || ".";

const { LogPrinter } = await import(join(ROOT, "test/dist/dev/log-printer.js"));
const printer = new LogPrinter({
  format: process.env.LOG_FORMAT === "json" ? "json" : "pretty",
  colors: process.stdout.isTTY,
  write: (text) => process.stdout.write(text),
});
const SUMMARY_MS = 30_000;
const summaries = setInterval(() => printer.summarise("30 s"), SUMMARY_MS);
const processes = new Processes(printer, (name, code) => {
  say(`${name} exited (${code}); stopping everything`);
  void stop(1);
});
const api = apiClient(API_PORT);
let demo;

let stopped = false;
async function stop(code = 0) {
  if (stopped) return;
  stopped = true;
  clearInterval(summaries);
  say("stopping…");
  await processes.stopAll();
  await demo?.receiver.close();
  printer.summarise("run");
  if (!RESET && existsSync(PID_FILE) && readFileSync(PID_FILE, "utf8").trim() === String(process.pid))
    rmSync(PID_FILE, { force: true });
  say("stopped");
  // Exit once stdout is flushed: into a pipe it is asynchronous, and exit() would cut it short.
  process.stdout.write("", () => process.exit(code));
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

function secretKey() {
  if (process.env.MCIC_SECRET_KEY) return process.env.MCIC_SECRET_KEY;
  const file = join(DATA, "secret.key");
  if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    say(`generated MCIC_SECRET_KEY in ${file} (keep it: it decrypts stored credentials)`);
  }
  return readFileSync(file, "utf8").trim();
}

/** The pid of a make run still running on this data directory, if any. */
function runningRun() {
  if (!existsSync(PID_FILE)) return undefined;
  const pid = Number(readFileSync(PID_FILE, "utf8").trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** NATS and Redis: reused when they answer, else started with data in the data directory. */
async function infrastructure() {
  const started = { nats: false, redis: false };
  if (!(await answers(NATS_URL))) {
    say(`no NATS at ${NATS_URL}: starting nats-server -js (data in ${shown}/nats)`);
    const { port } = new URL(NATS_URL);
    const args = ["-js", "-a", "127.0.0.1", "-p", port || "4222", "-sd", join(DATA, "nats")];
    await waitForLine(processes.start("nats", "nats-server", args, {}, { quiet: true }), /Server is ready/);
    started.nats = true;
  } else say(`using NATS at ${NATS_URL}`);
  if (/^rediss?\+sentinel:/.test(REDIS_URL)) {
    // A list of sentinels is not one address to probe: the services find the master themselves.
    say(`using Redis through Sentinel at ${REDIS_URL.replace(/\/\/[^/]*@/, "//[redacted]@")}`);
  } else if (!(await answers(REDIS_URL))) {
    say(`no Redis at ${REDIS_URL}: starting redis-server (data in ${shown}/redis)`);
    mkdirSync(join(DATA, "redis"), { recursive: true });
    const { port } = new URL(REDIS_URL);
    const args = ["--port", port || "6379", "--bind", "127.0.0.1", "--dir", join(DATA, "redis"), "--appendonly", "yes"];
    await waitForLine(
      processes.start("redis", "redis-server", args, {}, { quiet: true }),
      /Ready to accept connections/,
    );
    started.redis = true;
  } else say(`using Redis at ${REDIS_URL}`);
  return started;
}

function startService(name, env) {
  return processes.start(name, process.execPath, [join(ROOT, `services/${name}/dist/main.js`)], env);
}

async function run() {
  const other = runningRun();
  if (other) throw new Error(`make run is already running on ${shown} (pid ${other})`);
  writeFileSync(PID_FILE, `${process.pid}\n`);
  await infrastructure();
  const env = {
    NATS_URL,
    REDIS_URL,
    MCIC_SECRET_KEY: secretKey(),
    API_PORT,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  };
  const apiProcess = startService("api", env);
  // Their ops servers (metrics, health) on the services' default ports unless told otherwise.
  startService("watcher", { ...env, METRICS_PORT: process.env.WATCHER_METRICS_PORT ?? "9464" });
  startService("dispatcher", { ...env, METRICS_PORT: process.env.DISPATCHER_METRICS_PORT ?? "9465" });
  await waitForLine(apiProcess, /"msg":"listening"/);

  await clearEarlierRun(api, { demo: DEMO, apiPort: API_PORT });
  if (DEMO) demo = await startDemo({ root: ROOT, dataDir: DATA, processes, printer, api, receiverPort: RECEIVER_PORT });

  say(`Swagger UI:  http://localhost:${API_PORT}/swagger`);
  say(`Clusters:    curl localhost:${API_PORT}/api/v1/clusters`);
  const cliEnv = String(API_PORT) === "8000" ? "" : `MCIC_API=http://localhost:${API_PORT} `;
  say(`CLI:         ${cliEnv}npx mcic status   (also: mcic tail, mcic cluster add prod --kubeconfig ~/.kube/config)`);
  say("Walk-through: README.md; make reset removes what make run registered and its data; Ctrl-C stops everything.");
}

/** make reset: the api alone (on NATS/Redis as make run found them), the demo's registrations deleted, data removed. */
async function reset() {
  const other = runningRun();
  if (other) throw new Error(`make run is still running (pid ${other}): stop it (Ctrl-C), then make reset`);
  if (!existsSync(DATA)) {
    say(`nothing to reset: no ${shown}`);
    return stop(0);
  }
  const started = await infrastructure();
  const apiProcess = startService("api", { NATS_URL, REDIS_URL, MCIC_SECRET_KEY: secretKey(), API_PORT });
  await waitForLine(apiProcess, /"msg":"listening"/);
  const left = [];
  for (const kind of ["cluster", "server"]) {
    for (const { name } of (await api("GET", `/${kind}s`)).body ?? []) {
      if (!isDemoRegistration(kind, name)) left.push(`${kind} ${name}`);
      else if ((await api("DELETE", `/${kind}s/${encodeURIComponent(name)}`)).status === 204)
        say(`deleted ${kind} ${name}`);
    }
  }
  await processes.stopAll();
  const external = !started.redis && left.length > 0;
  if (external) {
    // Those registrations live in a Redis make run did not start; their credentials need this key.
    say(`left in the Redis at ${REDIS_URL}: ${left.join(", ")}; keeping ${shown}/secret.key, which decrypts them`);
    for (const entry of ["nats", "redis", "demo-kubeconfig.yaml", "demo-token", "kube-sim-tls", "run.pid"])
      rmSync(join(DATA, entry), { recursive: true, force: true });
  } else rmSync(DATA, { recursive: true, force: true });
  say(external ? `removed the rest of ${shown}` : `removed ${shown} (make run's NATS and Redis data, key, demo files)`);
  return stop(0);
}

mkdirSync(DATA, { recursive: true });
(RESET ? reset() : run()).catch((err) => {
  say(`failed: ${err.message}`);
  void stop(1);
});
