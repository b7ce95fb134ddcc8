import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A real nats-server or redis-server run by a test, on its own port and data directory. */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Kills the process (SIGKILL by default, as a crash would) and waits until it is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Kills it and removes its data. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** How to run one kind of server: the helpers of this folder build on it (sentinel.ts). */
export interface ServerRecipe {
  binary: string;
  args: (port: number, dir: string) => string[];
  /** Writes what the server reads at start (a config file) once the port is chosen. */
  prepare?: (port: number, dir: string) => void;
  ready: RegExp;
  url: (port: number) => string;
}

const NATS: ServerRecipe = {
  binary: "nats-server",
  args: (port, dir) => ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir],
  ready: /Server is ready/,
  url: (port) => `nats://127.0.0.1:${port}`,
};

/** `redis-server` with AOF, plus `extraArgs` (a password, `--replicaof`). */
export function redisRecipe(extraArgs: string[] = []): ServerRecipe {
  return {
    binary: "redis-server",
    args: (port, dir) => [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      ...extraArgs,
    ],
    ready: /Ready to accept connections/,
    url: (port) => `redis://127.0.0.1:${port}`,
  };
}

export function launch(recipe: ServerRecipe, port: number, dir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(recipe.binary, recipe.args(port, dir), { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => fail(new Error(`${recipe.binary} did not start within 10 s:\n${output}`)), 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (recipe.ready.test(output)) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        child.stderr?.off("data", onData);
        // Keep draining so a chatty server never blocks on a full pipe.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(err);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", fail);
    child.once("exit", (code) =>
      fail(new Error(`${recipe.binary} exited with ${code} before it was ready:\n${output}`)),
    );
  });
}

/** Starts a server of the recipe on a free port with a new data directory. */
export async function startServer(recipe: ServerRecipe): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), `mcic-${recipe.binary}-`));
  let port = 0;
  let child: ChildProcess | undefined;
  // A port found free can be taken before the server binds it: try a few.
  for (let attempt = 0; !child; attempt++) {
    port = await freePort();
    try {
      recipe.prepare?.(port, dataDir);
      child = await launch(recipe, port, dataDir);
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }
  return serverHandle(recipe, port, dataDir, child);
}

/** The TestServer of a process `launch` started, restarted by the same recipe, port and directory. */
export function serverHandle(recipe: ServerRecipe, port: number, dataDir: string, child: ChildProcess): TestServer {
  let current: ChildProcess | undefined = child;
  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    const proc = current;
    current = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill(signal);
    await exited;
  };
  return {
    url: recipe.url(port),
    port,
    dataDir,
    kill,
    restart: async () => {
      await kill();
      current = await launch(recipe, port, dataDir);
    },
    stop: async () => {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `nats-server -js` on a random port with its own store directory. */
export function startNats(): Promise<TestServer> {
  return startServer(NATS);
}

/** `redis-server` on a random port, AOF on so a restart keeps data (like production). */
export function startRedis(): Promise<TestServer> {
  return startServer(redisRecipe());
}
