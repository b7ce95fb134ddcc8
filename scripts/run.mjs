#!/usr/bin/env node
// `make run`: the whole mcic stack on one machine, for trying it out and for development.
// Reuses NATS and Redis when they answer at NATS_URL/REDIS_URL, else starts them with data under
// .mcic/; starts api, watcher, dispatcher and (unless MCIC_DEMO=0) a simulated cluster `demo` with
// a receiver that prints what it gets. Ctrl-C stops every process this script started.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { signWebhook, webhookKey } from "@mcic/core";

const ROOT = new URL("..", import.meta.url).pathname;
const DATA = join(ROOT, ".mcic");
mkdirSync(DATA, { recursive: true });

const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const API_PORT = process.env.API_PORT ?? "8000";
const DEMO = process.env.MCIC_DEMO !== "0";
const children = [];
let stopping = false;

function log(text) {
  console.log(`\x1b[1m[mcic]\x1b[0m ${text}`);
}

function secretKey() {
  if (process.env.MCIC_SECRET_KEY) return process.env.MCIC_SECRET_KEY;
  const file = join(DATA, "secret.key");
  if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    log(`generated MCIC_SECRET_KEY in ${file} (keep it: it decrypts stored credentials)`);
  }
  return readFileSync(file, "utf8").trim();
}

function answers(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setTimeout(1000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function start(name, command, args, env = {}, { quiet = false } = {}) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const prefix = `\x1b[36m[${name}]\x1b[0m `;
  const print = (chunk) => {
    if (quiet) return;
    for (const line of chunk.toString().split("\n")) if (line) process.stdout.write(`${prefix + line}\n`);
  };
  child.stdout.on("data", print);
  child.stderr.on("data", print);
  child.on("exit", (code, signal) => {
    if (!stopping) {
      log(`${name} exited (${code ?? signal}); stopping everything`);
      void stopAll(1);
    }
  });
  children.push({ name, child });
  return child;
}

function waitForLine(child, pattern, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}`)), timeoutMs);
    const onData = (chunk) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
  });
}

async function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  log("stopping…");
  // Services first (reverse start order), then the infrastructure they use.
  for (const { name, child } of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill("SIGTERM");
    const exited = await Promise.race([
      new Promise((r) => child.once("exit", () => r(true))),
      new Promise((r) => setTimeout(() => r(false), 12_000)),
    ]);
    if (!exited) {
      log(`${name} did not stop in time; killing it`);
      child.kill("SIGKILL");
    }
  }
  demoReceiver?.close();
  log("stopped");
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

async function api(path, body) {
  const res = await fetch(`http://127.0.0.1:${API_PORT}/api/v1${path}`, {
    method: body ? "POST" : "GET",
    headers: {
      "content-type": "application/json",
      ...(process.env.API_TOKENS ? { authorization: `Bearer ${process.env.API_TOKENS.split(",")[0]}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

let demoReceiver;

async function main() {
  if (!(await answers(NATS_URL))) {
    log(`no NATS at ${NATS_URL}: starting nats-server -js (data in .mcic/nats)`);
    const { port } = new URL(NATS_URL);
    const nats = start(
      "nats",
      "nats-server",
      ["-js", "-a", "127.0.0.1", "-p", port || "4222", "-sd", join(DATA, "nats")],
      {},
      { quiet: true },
    );
    await waitForLine(nats, /Server is ready/);
  } else log(`using NATS at ${NATS_URL}`);
  if (/^rediss?\+sentinel:/.test(REDIS_URL)) {
    // A list of sentinels is not one address to probe: the services find the master themselves.
    log(`using Redis through Sentinel at ${REDIS_URL.replace(/\/\/[^/]*@/, "//[redacted]@")}`);
  } else if (!(await answers(REDIS_URL))) {
    log(`no Redis at ${REDIS_URL}: starting redis-server (data in .mcic/redis)`);
    mkdirSync(join(DATA, "redis"), { recursive: true });
    const { port } = new URL(REDIS_URL);
    const redis = start(
      "redis",
      "redis-server",
      ["--port", port || "6379", "--bind", "127.0.0.1", "--dir", join(DATA, "redis"), "--appendonly", "yes"],
      {},
      { quiet: true },
    );
    await waitForLine(redis, /Ready to accept connections/);
  } else log(`using Redis at ${REDIS_URL}`);

  const env = {
    NATS_URL,
    REDIS_URL,
    MCIC_SECRET_KEY: secretKey(),
    API_PORT,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  };
  const apiProc = start("api", process.execPath, [join(ROOT, "services/api/dist/main.js")], env);
  start("watcher", process.execPath, [join(ROOT, "services/watcher/dist/main.js")], env);
  start("dispatcher", process.execPath, [join(ROOT, "services/dispatcher/dist/main.js")], env);
  await waitForLine(apiProc, /"msg":"listening"/);

  if (DEMO) await startDemo();

  log(`Swagger UI:  http://localhost:${API_PORT}/swagger`);
  log(`Clusters:    curl localhost:${API_PORT}/api/v1/clusters`);
  log(
    `Register a real cluster: curl -X POST localhost:${API_PORT}/api/v1/clusters -H 'content-type: application/json' ` +
      `-d "$(jq -n --arg kc "$(kubectl config view --raw --minify)" '{name:"prod",kubeconfig:$kc}')"`,
  );
  const cliEnv = String(API_PORT) === "8000" ? "" : `MCIC_API=http://localhost:${API_PORT} `;
  log(`CLI:         ${cliEnv}npx mcic status   (also: mcic tail, mcic cluster add prod --kubeconfig ~/.kube/config)`);
  log("Ctrl-C stops everything.");
}

async function startDemo() {
  const kubeconfig = join(DATA, "demo-kubeconfig.yaml");
  // No token: kube-sim speaks plain http here, where a token would travel in clear text.
  const sim = start("kube-sim", process.execPath, [
    join(ROOT, "test/dist/kube-sim/cli.js"),
    "--port",
    "0",
    "--seed",
    "demo",
    "--churn-ms",
    "3000",
    "--cluster-name",
    "demo",
    "--kubeconfig-out",
    kubeconfig,
  ]);
  await waitForLine(sim, /kube-sim listening on (\S+)/);

  let key;
  demoReceiver = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      let line = body;
      try {
        const ce = JSON.parse(body);
        const ok =
          key &&
          req.headers["webhook-signature"] ===
            signWebhook(key, req.headers["webhook-id"], Number(req.headers["webhook-timestamp"]), body);
        const snapshot = ce.data.snapshot ? ", snapshot" : "";
        line = `${ce.data.type.padEnd(8)} ${ce.data.kind} ${ce.subject} (cluster ${ce.data.cluster}, rv ${ce.data.resourceVersion}${snapshot}) signature ${ok ? "ok" : "BAD"}`;
      } catch {
        // Not a CloudEvent: print it raw.
      }
      process.stdout.write(`\x1b[32m[demo-receiver]\x1b[0m ${line}\n`);
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => demoReceiver.listen(0, "127.0.0.1", r));
  const receiverUrl = `http://127.0.0.1:${demoReceiver.address().port}/events`;

  // A previous run may have left registrations in a reused Redis: remove them. The receiver gets a
  // fresh name each run, so retries still queued for the last run's receiver are dropped, not
  // delivered here.
  const headers = process.env.API_TOKENS ? { authorization: `Bearer ${process.env.API_TOKENS.split(",")[0]}` } : {};
  const servers = await (await fetch(`http://127.0.0.1:${API_PORT}/api/v1/servers`, { headers })).json();
  const stale = [
    "/clusters/demo",
    ...servers.filter((s) => s.name.startsWith("demo-receiver")).map((s) => `/servers/${s.name}`),
  ];
  for (const path of stale) await fetch(`http://127.0.0.1:${API_PORT}/api/v1${path}`, { method: "DELETE", headers });
  const name = `demo-receiver-${randomBytes(2).toString("hex")}`;
  // No snapshot: registering the cluster right after publishes its objects as ADDED anyway.
  const server = await api("/servers", { name, url: receiverUrl, snapshot: false });
  if (server.status !== 201) throw new Error(`registering demo receiver failed: ${JSON.stringify(server.body)}`);
  key = webhookKey(server.body.secret);
  const cluster = await api("/clusters", { name: "demo", kubeconfig: readFileSync(kubeconfig, "utf8") });
  if (cluster.status !== 201) throw new Error(`registering demo cluster failed: ${JSON.stringify(cluster.body)}`);
  log(`demo cluster registered from ${kubeconfig}; the demo receiver prints every event it gets`);
}

main().catch((err) => {
  log(`failed: ${err.message}`);
  void stopAll(1);
});
