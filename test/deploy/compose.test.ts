import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Script } from "node:vm";
import { type TestServer, freePort, startNats, startRedis, waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServiceProcess, newSecretKey, startService } from "../support/stack.js";
import {
  COMPOSE_FILE,
  type ComposeService,
  commandOf,
  compose,
  healthTest,
  mountsNamedVolume,
  resolveCompose,
} from "./compose-file.js";
import { ROOT } from "./deploy-files.js";
import { LocalProcesses } from "./local-processes.js";
import { requireBinary } from "./require-binary.js";
import { MCIC_SERVICES, SERVICE_PORTS, SPEC_VARS } from "./spec-facts.js";

// docker-compose.yml checked without a Docker engine: `docker-compose config` (Debian's
// docker-compose, v1 syntax) must accept it, and its resolved form must have what the contract's
// (docs/contract.md) "docker compose up" promises. The demo profile's inline scripts are run for real.
// The ha profile has its own file, compose-ha.test.ts.

const VARS = { API_TOKENS: "token-one,token-two", MCIC_SECRET_KEY: newSecretKey() };

/** The JavaScript of a `node -e <script>` command. */
function nodeEvalScript(argv: string[]): string {
  expect(argv.slice(0, 2)).toEqual(["node", "-e"]);
  expect(argv).toHaveLength(3);
  return argv[2] as string;
}

describe("docker-compose.yml", () => {
  let services: Record<string, ComposeService>;
  let volumes: Record<string, unknown>;

  beforeAll(() => {
    requireBinary("docker-compose", "apt-get install docker-compose");
    const quiet = compose(["config", "-q"], VARS);
    if (quiet.status !== 0) throw new Error(`docker-compose config -q failed:\n${quiet.stderr}${quiet.error ?? ""}`);
    ({ services, volumes } = resolveCompose("demo", VARS));
  });

  it("needs no .env: with no variables at all every profile resolves, the key and token left to the init service", () => {
    for (const profile of [[], ["--profile", "demo"], ["--profile", "ha"]]) {
      const fresh = compose([...profile, "config", "-q"], {});
      expect(fresh.status, `${profile.join(" ")}: ${fresh.stderr}`).toBe(0);
    }
    const bare = resolveCompose("demo", {}).services;
    for (const name of MCIC_SERVICES) expect(bare[name]?.environment?.MCIC_SECRET_KEY, name).toBe("");
    expect(bare.api?.environment?.API_TOKENS).toBe("");
  });

  it("runs the one-shot init service first and hands its volume to the services, read-only", () => {
    const init = services.init as ComposeService & { entrypoint?: string[] };
    expect(init.entrypoint).toEqual(["sh", "/etc/mcic/mcic-init.sh", "/mcic-init"]);
    expect(init.restart).toBe("no");
    expect(mountsNamedVolume(init, "/mcic-init", volumes)).toBe(true);
    expect(volumes).toHaveProperty("mcic-init");
    const ha = resolveCompose("ha", VARS).services;
    for (const [name, svc] of [
      ...MCIC_SERVICES.map((n) => [n, services[n]] as const),
      ...MCIC_SERVICES.map((n) => [`${n}-ha`, ha[`${n}-ha`]] as const),
    ]) {
      const s = svc as ComposeService & { entrypoint?: string[] };
      expect(s.entrypoint, name).toEqual(["sh", "/etc/mcic/mcic-env.sh"]);
      expect(commandOf(s), name).toEqual(["node", "dist/main.js"]);
      expect(s.volumes, name).toContainEqual(expect.stringMatching(/^mcic-init:\/mcic-init:ro$/));
      expect((s.depends_on as Record<string, { condition: string }>).init, name).toEqual({
        condition: "service_completed_successfully",
      });
    }
  });

  it("runs NATS with JetStream on a named volume and Redis with AOF on a named volume", () => {
    const nats = services.nats as ComposeService;
    expect(nats.image).toMatch(/^nats:2\.10-alpine$/);
    const natsArgs = commandOf(nats);
    expect(natsArgs).toContain("-js");
    const storeDir = natsArgs[natsArgs.indexOf("-sd") + 1];
    expect(storeDir).toBeTruthy();
    expect(mountsNamedVolume(nats, storeDir as string, volumes)).toBe(true);

    const redis = services.redis as ComposeService;
    expect(redis.image).toMatch(/^redis:7-alpine$/);
    const redisArgs = commandOf(redis);
    expect(redisArgs[redisArgs.indexOf("--appendonly") + 1]).toBe("yes");
    expect(mountsNamedVolume(redis, "/data", volumes)).toBe(true);
  });

  it("builds each service from the shared Dockerfile with SERVICE set, publishes only the api", () => {
    for (const name of MCIC_SERVICES) {
      const svc = services[name] as ComposeService;
      expect(svc.build?.dockerfile).toBe("Dockerfile");
      expect(svc.build?.args?.SERVICE).toBe(name);
      expect(existsSync(join(svc.build?.context ?? "", "Dockerfile"))).toBe(true);
      expect(svc.image).toMatch(new RegExp(`^mcic/${name}:`));
    }
    expect(services.api?.ports).toEqual([expect.objectContaining({ published: 8000, target: 8000 })]);
  });

  it("lets workers scale: no container_name and no host port on watcher and dispatcher", () => {
    for (const name of ["watcher", "dispatcher"]) {
      const svc = services[name] as ComposeService;
      expect(svc.container_name, name).toBeUndefined();
      expect(svc.ports, name).toBeUndefined();
    }
    // No service pins a container name: `--scale` must work on any of them.
    for (const [name, svc] of Object.entries(services)) expect(svc.container_name, name).toBeUndefined();
  });

  it("configures the services with the contract's variable names and the right ports", () => {
    for (const name of MCIC_SERVICES) {
      const env = services[name]?.environment ?? {};
      for (const key of Object.keys(env)) expect(SPEC_VARS, `${name}: ${key}`).toContain(key);
      expect(env.NATS_URL).toBe("nats://nats:4222");
      expect(env.REDIS_URL).toBe("redis://redis:6379");
      expect(env.MCIC_SECRET_KEY).toBe(VARS.MCIC_SECRET_KEY);
    }
    expect(services.api?.environment?.API_TOKENS).toBe(VARS.API_TOKENS);
    expect(services.api?.environment?.API_PORT).toBe("8000");
    expect(services.watcher?.environment?.API_TOKENS).toBeUndefined();
    expect(services.dispatcher?.environment?.API_TOKENS).toBeUndefined();
    expect(services.watcher?.environment?.METRICS_PORT).toBe("9464");
    expect(services.dispatcher?.environment?.METRICS_PORT).toBe("9465");
    expect(services.dispatcher?.environment?.DISPATCH_RETRY_SCHEDULE).toBe("1s,5s,30s,2m,10m,30m,1h,2h,4h,8h");
  });

  it("has a health check on every long-running service and starts the services after healthy NATS and Redis", () => {
    for (const [name, svc] of Object.entries(services)) {
      if (name === "demo-register" || name === "demo-receiver" || name === "init") continue;
      expect(healthTest(svc)[0], name).toBe("CMD");
    }
    for (const name of MCIC_SERVICES) {
      const test = healthTest(services[name] as ComposeService);
      const script = nodeEvalScript(test.slice(1));
      expect(script).toContain(`http://127.0.0.1:${SERVICE_PORTS[name]}/healthz`);
      expect(services[name]?.depends_on).toEqual({
        init: { condition: "service_completed_successfully" },
        nats: { condition: "service_healthy" },
        redis: { condition: "service_healthy" },
      });
      expect(services[name]?.restart).toBe("unless-stopped");
    }
    expect(healthTest(services.nats as ComposeService).join(" ")).toContain("js-enabled-only=true");
    expect(healthTest(services.redis as ComposeService)).toEqual(["CMD", "redis-cli", "ping"]);
  });

  it("every inline `node -e` script compiles", () => {
    for (const [name, svc] of Object.entries(services)) {
      const candidates = [svc.command, svc.healthcheck?.test].filter(Array.isArray) as string[][];
      for (const argv of candidates) {
        const at = argv.indexOf("-e");
        if (argv[at - 1] !== "node" || at < 0) continue;
        expect(() => new Script(argv[at + 1] as string, { filename: `${name}.js` }), name).not.toThrow();
      }
    }
  });

  it("puts the demo services behind the demo profile, built from the build stage", () => {
    for (const name of ["kube-sim", "demo-receiver", "demo-register"]) {
      const svc = services[name] as ComposeService;
      expect(svc.profiles, name).toEqual(["demo"]);
      expect(svc.build?.target, name).toBe("build");
    }
    for (const name of ["nats", "redis", ...MCIC_SERVICES]) expect(services[name]?.profiles, name).toBeUndefined();
    expect(commandOf(services["kube-sim"] as ComposeService)).toEqual([
      "node",
      "test/dist/kube-sim/cli.js",
      "--port",
      "6443",
      "--host",
      "0.0.0.0",
      "--seed",
      "demo",
      "--churn-ms",
      "3000",
    ]);
  });

  it(".env.example documents every variable the file reads", () => {
    const example = readFileSync(join(ROOT, ".env.example"), "utf8");
    const used = new Set([...readFileSync(COMPOSE_FILE, "utf8").matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]));
    expect([...used]).toEqual(expect.arrayContaining(["API_TOKENS", "MCIC_SECRET_KEY"]));
    for (const name of used) expect(example, name).toMatch(new RegExp(`^#? ?${name}=`, "m"));
    expect(example).toMatch(/^API_TOKENS=$/m);
    expect(example).toMatch(/^MCIC_SECRET_KEY=$/m);
    expect(readFileSync(join(ROOT, ".gitignore"), "utf8")).toMatch(/^\.env$/m);
  });

  it("the contract's configuration table has the variables these checks use", () => {
    const contract = join(ROOT, "docs", "contract.md");
    const section = readFileSync(contract, "utf8").split("## Configuration")[1]?.split("\n## ")[0] ?? "";
    const names = [...section.matchAll(/^\| ([A-Z_ /]+) \|/gm)].flatMap((m) => (m[1] as string).split(" / "));
    expect(names.filter((n) => n !== "var").sort()).toEqual([...SPEC_VARS].sort());
  });
});

describe("docker-compose.yml demo profile, its scripts run against a real api, watcher and dispatcher", () => {
  let nats: TestServer;
  let redis: TestServer;
  const started: ServiceProcess[] = [];
  let apiUrl: string;
  const local = new LocalProcesses();
  let services: Record<string, ComposeService>;

  beforeAll(async () => {
    const kubeSimCli = join(ROOT, "test/dist/kube-sim/cli.js");
    if (!existsSync(kubeSimCli)) throw new Error(`${kubeSimCli} is missing: build first (npx tsc -b; make test does)`);
    services = resolveCompose("demo", VARS).services;
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const env = {
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      MCIC_SECRET_KEY: newSecretKey(),
      MCIC_PREFIX: "composedemo",
      API_TOKENS: "demo-api-token",
      API_HOST: "127.0.0.1",
      API_PORT: "0",
      METRICS_PORT: "0",
    };
    const api = startService("api", env);
    const watcher = startService("watcher", env);
    const dispatcher = startService("dispatcher", env);
    started.push(api, watcher, dispatcher);
    const [listening] = await Promise.all([
      api.waitForLog("listening", 60_000),
      watcher.waitForLog("ready", 60_000),
      dispatcher.waitForLog("ready", 60_000),
    ]);
    apiUrl = `http://127.0.0.1:${listening.port}`;
  }, 120_000);

  afterAll(async () => {
    await local.stopAll();
    await Promise.all(started.map((s) => s.kill("SIGTERM")));
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  const run = (argv: string[], env: Record<string, string>) => local.run(argv, { env, cwd: ROOT });

  it("kube-sim, the receiver and the registration job work as compose runs them", async () => {
    // kube-sim as compose runs it, on a free loopback port instead of 0.0.0.0:6443.
    const simArgv = commandOf(services["kube-sim"] as ComposeService).map((arg, i, all) =>
      all[i - 1] === "--port" ? "0" : all[i - 1] === "--host" ? "127.0.0.1" : arg,
    );
    const sim = run(simArgv, {});
    const simUrl = await waitFor(
      () => {
        const url = /kube-sim listening on (\S+)/.exec(sim.output.text)?.[1];
        if (url || sim.child.exitCode === null) return url;
        throw new Error(`kube-sim exited with ${sim.child.exitCode}:\n${sim.output.text}`);
      },
      { timeoutMs: 10_000, message: "kube-sim to listen" },
    );
    const simHealth = healthTest(services["kube-sim"] as ComposeService)
      .slice(1)
      .map((arg) => arg.replace("http://127.0.0.1:6443", simUrl));
    expect(await run(simHealth, {}).exited).toBe(0);

    // The receiver registers itself (the token from the init volume, as compose gives it none).
    const initDir = mkdtempSync(join(tmpdir(), "mcic-init-"));
    writeFileSync(join(initDir, "api-token"), "demo-api-token\n");
    const port = await freePort();
    const receiver = run(commandOf(services["demo-receiver"] as ComposeService), {
      ...(services["demo-receiver"]?.environment as Record<string, string>),
      API_URL: apiUrl,
      API_TOKENS: "",
      PORT: String(port),
      HOST: "127.0.0.1",
      RECEIVER_URL: `http://127.0.0.1:${port}/events`,
      MCIC_INIT_DIR: initDir,
    });
    await waitFor(() => receiver.output.text.includes("[demo-receiver] registered as server demo-receiver"), {
      timeoutMs: 15_000,
      message: `demo receiver to register:\n${receiver.output.text}`,
    });

    const register = run(commandOf(services["demo-register"] as ComposeService), {
      API_URL: apiUrl,
      API_TOKENS: "",
      MCIC_INIT_DIR: initDir,
      KUBE_SIM_URL: simUrl,
    });
    expect(await register.exited, register.output.text).toBe(0);
    expect(register.output.text).toMatch(/POST \/clusters 201/);

    // The watcher follows the demo cluster registered by server URL...
    await waitFor(
      async () => {
        const res = await fetch(`${apiUrl}/api/v1/clusters/demo`, {
          headers: { authorization: "Bearer demo-api-token" },
        });
        const body = (await res.json()) as { status?: { resources?: { state: string }[] } };
        const states = (body?.status?.resources ?? []).map((r) => r.state);
        if (states.length > 0 && states.every((st) => st === "watching")) return true;
        throw new Error(JSON.stringify(body?.status));
      },
      { timeoutMs: 15_000, intervalMs: 200, message: "the demo cluster to be watched" },
    );
    // ...and the receiver prints what the dispatcher delivers, its signature verified...
    await waitFor(
      () =>
        /\[demo-receiver\] ADDED {4}Ingress shop\/web \(cluster demo, rv \d+\) signature ok/.test(receiver.output.text),
      { timeoutMs: 20_000, message: `the demo receiver to print a verified event:\n${receiver.output.text}` },
    );
    // ...and refuses what is not signed with its secret.
    const forged = await fetch(`http://127.0.0.1:${port}/events`, {
      method: "POST",
      headers: {
        "content-type": "application/cloudevents+json",
        "webhook-id": "x",
        "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
        "webhook-signature": "v1,Zm9yZ2Vk",
      },
      body: JSON.stringify({ subject: "shop/web", data: { type: "MODIFIED", kind: "Ingress", cluster: "demo" } }),
    });
    expect(forged.status).toBe(401);
    await waitFor(() => receiver.output.text.includes("signature BAD"), { timeoutMs: 5_000, message: "BAD printed" });
    rmSync(initDir, { recursive: true, force: true });
  });
});
