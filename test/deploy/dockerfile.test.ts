import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type TestServer, freePort, startNats, startRedis, waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServiceName, type ServiceProcess, newSecretKey, startService } from "../support/stack.js";

// The Dockerfile checked without a Docker engine: its instructions are read and replayed on this
// machine. The build stage's COPY sources must exist (and not be excluded by .dockerignore), its
// outputs must be what the runtime stage copies, and the runtime stage is rebuilt in a temporary
// directory (the same COPY lines, the same `npm ci --omit=dev`, from npm's local cache) and started
// with its CMD from its WORKDIR; its HEALTHCHECK must pass against it.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SERVICES: ServiceName[] = ["api", "watcher", "dispatcher"];
const run = promisify(execFile);

/** `npx tsc -b` of the three services (and @mcic/core): a no-op when `make test` built them already. */
async function buildServices(): Promise<void> {
  await run("npx", ["tsc", "-b", ...SERVICES.map((s) => `services/${s}`)], { cwd: ROOT, timeout: 120_000 }).catch(
    (err: Error & { stdout?: string }) => {
      throw new Error(`npx tsc -b failed:\n${err.stdout ?? ""}${err.message}`);
    },
  );
}

interface Instruction {
  op: string;
  args: string;
  line: number;
}

interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): { globals: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] as string;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) {
      line = `${line.slice(0, -1)} `;
      i++;
      const next = lines[i] as string;
      if (!/^\s*#/.test(next)) line += next.trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse "${line}"`);
    instructions.push({ op: (m[1] as string).toUpperCase(), args: (m[2] as string).trim(), line: start + 1 });
  }
  const globals: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === "FROM") {
      const [from, as, name] = ins.args.split(/\s+/);
      stages.push({ from: from as string, name: as?.toUpperCase() === "AS" ? (name as string) : "", instructions: [] });
    } else if (stages.length === 0) globals.push(ins);
    else stages[stages.length - 1]?.instructions.push(ins);
  }
  return { globals, stages };
}

/** ${VAR} and $VAR from ARG/ENV values, as the builder substitutes them. */
function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a, b) => {
    const name = (a ?? b) as string;
    if (!(name in vars)) throw new Error(`Dockerfile uses $${name}, which no ARG or ENV defines`);
    return vars[name] as string;
  });
}

/** ARG name=default / ENV a=b c=d (the forms this Dockerfile uses). */
function assignments(args: string): [string, string][] {
  return [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=("[^"]*"|\S*))?/g)].map((m) => [
    m[1] as string,
    (m[2] ?? "").replace(/^"|"$/g, ""),
  ]);
}

function splitFlags(args: string): { flags: Record<string, string>; rest: string[] } {
  const flags: Record<string, string> = {};
  const rest: string[] = [];
  for (const token of args.split(/\s+/)) {
    const flag = /^--([a-z-]+)=(.*)$/.exec(token);
    if (flag && rest.length === 0) flags[flag[1] as string] = flag[2] as string;
    else rest.push(token);
  }
  return { flags, rest };
}

/** .dockerignore rules as regular expressions over context-relative paths; a matched folder takes its contents. */
function dockerignore(): { pattern: string; re: RegExp; negated: boolean }[] {
  return readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((raw) => {
      const negated = raw.startsWith("!");
      const parts = (negated ? raw.slice(1) : raw).replace(/^\/+/, "").split("/");
      let re = "";
      parts.forEach((part, i) => {
        if (part === "**") {
          re += "(?:.*/)?";
          return;
        }
        re += part
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*/g, "[^/]*")
          .replace(/\?/g, "[^/]");
        if (i < parts.length - 1) re += "/";
      });
      return { pattern: raw, negated, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
}

function ignoredBy(path: string): string | undefined {
  let hit: string | undefined;
  for (const rule of dockerignore()) if (rule.re.test(path)) hit = rule.negated ? undefined : rule.pattern;
  return hit;
}

function exec(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`expected exec form (a JSON list): ${args}`);
  return parsed as string[];
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const buildStage = dockerfile.stages.find((s) => s.name === "build") as Stage;
const runtimeStage = dockerfile.stages[dockerfile.stages.length - 1] as Stage;

function globalVars(): Record<string, string> {
  return Object.fromEntries(dockerfile.globals.filter((i) => i.op === "ARG").flatMap((i) => assignments(i.args)));
}

function ops(stage: Stage, op: string): Instruction[] {
  return stage.instructions.filter((i) => i.op === op);
}

function healthcheckArgv(): string[] {
  const [health] = ops(runtimeStage, "HEALTHCHECK");
  const cmd = /\bCMD\s+(\[.*\])$/.exec(health?.args ?? "");
  if (!cmd) throw new Error("HEALTHCHECK must use CMD in exec form");
  return exec(cmd[1] as string);
}

describe("Dockerfile", () => {
  it("builds on node:20-bookworm-slim in two stages, runs as `node` with a HEALTHCHECK and an exec-form CMD", () => {
    expect(dockerfile.stages.map((s) => substitute(s.from, globalVars()))).toEqual([
      "node:20-bookworm-slim",
      "node:20-bookworm-slim",
    ]);
    expect(buildStage).toBeTruthy();
    expect(runtimeStage.name).toBe("runtime");
    const runs = ops(buildStage, "RUN").map((i) => i.args);
    expect(runs).toEqual([expect.stringMatching(/^npm ci\b/), "npx tsc -b"]);
    expect(ops(runtimeStage, "RUN").map((i) => i.args)).toEqual([
      expect.stringMatching(/^npm ci --omit=dev .*-w @mcic\/core -w @mcic\/\$\{SERVICE\}/),
    ]);
    expect(ops(runtimeStage, "USER").map((i) => i.args)).toEqual(["node"]);
    expect(ops(runtimeStage, "HEALTHCHECK")).toHaveLength(1);
    expect(exec(ops(runtimeStage, "CMD")[0]?.args ?? "")).toEqual(["node", "dist/main.js"]);
    // The last WORKDIR is the service's folder, so `node dist/main.js` is services/<svc>/dist/main.js.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable
    expect(ops(runtimeStage, "WORKDIR").pop()?.args).toBe("/app/services/${SERVICE}");
    expect(healthcheckArgv().slice(0, 2)).toEqual(["node", "-e"]);
  });

  it("keeps node_modules, dist, .mcic, .git, build info and .env out of the build context", () => {
    for (const path of ["node_modules", "services/api/node_modules", "packages/core/dist", "test/dist/x.js"])
      expect(ignoredBy(path), path).toBeTruthy();
    for (const path of [".mcic", ".mcic/secret.key", ".git", ".git/HEAD", "tsconfig.tsbuildinfo", ".env"])
      expect(ignoredBy(path), path).toBeTruthy();
    expect(ignoredBy(".env.example")).toBeUndefined();
  });

  it("copies only files that exist in the repository and are in the build context", () => {
    for (const service of SERVICES) {
      for (const stage of dockerfile.stages) {
        const vars: Record<string, string> = { ...globalVars() };
        for (const ins of stage.instructions) {
          if (ins.op === "ARG") for (const [k, v] of assignments(ins.args)) vars[k] = k === "SERVICE" ? service : v;
          if (ins.op !== "COPY") continue;
          const { flags, rest } = splitFlags(substitute(ins.args, vars));
          if (flags.from) continue;
          for (const source of rest.slice(0, -1)) {
            const path = source === "." || source === "./" ? "." : source.replace(/^\.\//, "");
            expect(existsSync(join(ROOT, path)), `line ${ins.line}: COPY ${source} (SERVICE=${service})`).toBe(true);
            expect(ignoredBy(path), `line ${ins.line}: ${source} is excluded by .dockerignore`).toBeUndefined();
          }
        }
      }
    }
  });

  describe("after `npx tsc -b`", () => {
    beforeAll(async () => {
      await buildServices();
    }, 130_000);

    it("has every file the runtime stage copies from the build stage, and the CMD's entry point", () => {
      for (const service of SERVICES) {
        const vars = { ...globalVars(), SERVICE: service };
        for (const ins of ops(runtimeStage, "COPY")) {
          const { flags, rest } = splitFlags(substitute(ins.args, vars));
          if (flags.from !== "build") continue;
          for (const source of rest.slice(0, -1)) {
            expect(source.startsWith("/app/"), source).toBe(true);
            expect(existsSync(join(ROOT, relative("/app", source))), `${source} (SERVICE=${service})`).toBe(true);
          }
        }
        const workdir = substitute(ops(runtimeStage, "WORKDIR").pop()?.args ?? "", vars);
        const entry = exec(ops(runtimeStage, "CMD")[0]?.args ?? "")[1] as string;
        expect(existsSync(join(ROOT, relative("/app", workdir), entry)), `${workdir}/${entry}`).toBe(true);
      }
    });
  });

  // Asked of tsc's configuration rather than of dist/, which may still hold outputs of older builds.
  it("builds no test file into the dist/ folders the runtime stage copies", async () => {
    const projects = {
      "packages/core": "./src/index.ts",
      ...Object.fromEntries(SERVICES.map((s) => [`services/${s}`, "./src/main.ts"])),
    };
    for (const [project, entry] of Object.entries(projects)) {
      const { stdout } = await run("npx", ["tsc", "--showConfig", "-p", project], { cwd: ROOT, timeout: 60_000 });
      const files = (JSON.parse(stdout) as { files: string[] }).files;
      expect(files, project).toContain(entry);
      expect(
        files.filter((f) => /\.test\.ts$|test-harness\.ts$/.test(f)),
        project,
      ).toEqual([]);
    }
  }, 120_000);
});

describe("Dockerfile HEALTHCHECK against services started from the built dist", () => {
  let nats: TestServer;
  let redis: TestServer;
  const started: ServiceProcess[] = [];

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
  });

  afterAll(async () => {
    await Promise.all(started.map((s) => s.kill("SIGTERM")));
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  async function healthcheck(env: Record<string, string>): Promise<number> {
    const [bin, ...args] = healthcheckArgv();
    return new Promise((resolve) => {
      const child = spawn(bin === "node" ? process.execPath : (bin as string), args, {
        env: { PATH: process.env.PATH ?? "", ...env },
        stdio: "ignore",
      });
      child.once("exit", (code) => resolve(code ?? -1));
    });
  }

  it("passes for api, watcher and dispatcher on the ports from their environment, fails when nothing listens", async () => {
    const secretKey = newSecretKey();
    const check = async (service: ServiceName) => {
      const port = String(await freePort());
      const portVar = service === "api" ? "API_PORT" : "METRICS_PORT";
      const env = {
        NATS_URL: nats.url,
        REDIS_URL: redis.url,
        MCIC_SECRET_KEY: secretKey,
        MCIC_PREFIX: `hc${service}`,
        [portVar]: port,
      };
      expect(await healthcheck({ MCIC_SERVICE: service, [portVar]: port }), `${service} before start`).toBe(1);
      const proc = startService(service, env);
      started.push(proc);
      await proc.waitForLog(service === "api" ? "listening" : "ready");
      expect(await healthcheck({ MCIC_SERVICE: service, [portVar]: port }), service).toBe(0);
    };
    await Promise.all(SERVICES.map(check));
  });
});

describe("Dockerfile runtime stage replayed outside a container", () => {
  let nats: TestServer;
  let redis: TestServer;
  const dirs: string[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    await buildServices();
  }, 130_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.all([nats?.stop(), redis?.stop()]);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** Replays the runtime stage for one service under `image` (which stands for the image's /). */
  async function buildRuntime(service: ServiceName, image: string) {
    const vars: Record<string, string> = { ...globalVars() };
    const env: Record<string, string> = {};
    let workdir = "/";
    const at = (path: string) => join(image, path.startsWith("/") ? path : join(workdir, path));
    for (const ins of runtimeStage.instructions) {
      if (ins.op === "ARG") for (const [k, v] of assignments(ins.args)) vars[k] = k === "SERVICE" ? service : v;
      else if (ins.op === "ENV")
        for (const [k, v] of assignments(ins.args)) {
          env[k] = substitute(v, vars);
          vars[k] = env[k] as string;
        }
      else if (ins.op === "WORKDIR") {
        workdir = substitute(ins.args, vars);
        mkdirSync(at(workdir), { recursive: true });
      } else if (ins.op === "COPY") {
        const { flags, rest } = splitFlags(substitute(ins.args, vars));
        const dest = rest.pop() as string;
        for (const source of rest) {
          // The build stage's /app is this repository after `npx tsc -b`.
          const from = flags.from === "build" ? join(ROOT, relative("/app", source)) : join(ROOT, source);
          const target = dest.endsWith("/") ? join(at(dest), source.split("/").pop() as string) : at(dest);
          cpSync(from, target, { recursive: true });
        }
      } else if (ins.op === "RUN") {
        for (const command of substitute(ins.args, vars)
          .split("&&")
          .map((c) => c.trim())) {
          if (command === "npm cache clean --force") continue; // would empty this machine's cache
          if (!command.startsWith("npm ci "))
            throw new Error(`line ${ins.line}: teach this test to replay "${command}"`);
          // From npm's local cache: `npm ci` of the repository filled it.
          await run("sh", ["-c", command], {
            cwd: at(workdir),
            env: { ...process.env, ...env, npm_config_prefer_offline: "true", npm_config_update_notifier: "false" },
            timeout: 60_000,
          }).catch((err: Error & { stderr?: string }) => {
            throw new Error(`line ${ins.line}: ${command} failed for ${service}:\n${err.stderr ?? err.message}`);
          });
        }
      }
    }
    return { env, workdir: at(workdir), cmd: exec(ops(runtimeStage, "CMD")[0]?.args ?? "") };
  }

  it("installs only production dependencies and each service starts and stays healthy", async () => {
    const built = await Promise.all(
      SERVICES.map(async (service) => {
        const image = mkdtempSync(join(tmpdir(), `mcic-image-${service}-`));
        dirs.push(image);
        return { service, image, ...(await buildRuntime(service, image)) };
      }),
    );
    const secretKey = newSecretKey();
    const check = async ({ service, image, env, workdir, cmd }: (typeof built)[number]) => {
      const modules = join(image, "app", "node_modules");
      expect(existsSync(join(modules, "@mcic", "core", "dist", "index.js")), `${service}: @mcic/core`).toBe(true);
      for (const dev of ["vitest", "typescript", "@biomejs", "@kubernetes"])
        expect(existsSync(join(modules, dev)), `${service} must not ship ${dev}`).toBe(false);
      for (const other of SERVICES.filter((s) => s !== service))
        expect(existsSync(join(image, "app", "services", other)), `${service} image holds ${other}`).toBe(false);
      expect(env.NODE_ENV).toBe("production");

      const port = String(await freePort());
      const portVar = service === "api" ? "API_PORT" : "METRICS_PORT";
      const child = spawn(cmd[0] === "node" ? process.execPath : (cmd[0] as string), cmd.slice(1), {
        cwd: workdir,
        env: {
          PATH: process.env.PATH ?? "",
          ...env,
          NATS_URL: nats.url,
          REDIS_URL: redis.url,
          MCIC_SECRET_KEY: secretKey,
          MCIC_PREFIX: `img${service}`,
          [portVar]: port,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      let output = "";
      child.stdout?.on("data", (c: Buffer) => {
        output += c.toString();
      });
      child.stderr?.on("data", (c: Buffer) => {
        output += c.toString();
      });
      const [bin, ...args] = healthcheckArgv();
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`${service} exited with ${child.exitCode}:\n${output}`);
          const probe = await run(bin === "node" ? process.execPath : (bin as string), args, {
            env: { PATH: process.env.PATH ?? "", ...env, [portVar]: port },
          }).then(
            () => true,
            () => false,
          );
          return probe;
        },
        { timeoutMs: 15_000, intervalMs: 200, message: `${service} (from ${workdir}) to pass its HEALTHCHECK` },
      );
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      expect(await exited, `${service} exit code on SIGTERM:\n${output}`).toBe(0);
    };
    await Promise.all(built.map(check));
    // Three `npm ci` replays and three services: well over the default 30 s on a shared, loaded machine.
  }, 180_000);
});
