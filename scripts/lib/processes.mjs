// The child processes of `make run` / `make reset`: started with their output fed to the log
// printer, stopped in reverse order.
import { spawn } from "node:child_process";
import { connect } from "node:net";

export function say(text) {
  console.log(`\x1b[1m[mcic]\x1b[0m ${text}`);
}

/** True when something accepts TCP connections at the URL's host and port. */
export function answers(url) {
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

export function waitForLine(child, pattern, timeoutMs = 30_000) {
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

export class Processes {
  #children = [];
  #stopping = false;
  #printer;
  #onUnexpectedExit;

  /** printer: a LogPrinter or undefined (output dropped); onUnexpectedExit(name, code): a child died on its own. */
  constructor(printer, onUnexpectedExit) {
    this.#printer = printer;
    this.#onUnexpectedExit = onUnexpectedExit;
  }

  start(name, command, args, env = {}, { quiet = false } = {}) {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let partial = "";
    const print = (chunk) => {
      if (quiet || !this.#printer) return;
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line) this.#printer.line(name, line);
    };
    child.stdout.on("data", print);
    child.stderr.on("data", print);
    child.on("exit", (code, signal) => {
      if (!this.#stopping) this.#onUnexpectedExit(name, code ?? signal);
    });
    this.#children.push({ name, child });
    return child;
  }

  /** Services first (reverse start order), then the infrastructure they use. */
  async stopAll() {
    this.#stopping = true;
    for (const { name, child } of [...this.#children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill("SIGTERM");
      const exited = await Promise.race([
        new Promise((r) => child.once("exit", () => r(true))),
        new Promise((r) => setTimeout(() => r(false), 12_000)),
      ]);
      if (!exited) {
        say(`${name} did not stop in time; killing it`);
        child.kill("SIGKILL");
      }
    }
  }
}
