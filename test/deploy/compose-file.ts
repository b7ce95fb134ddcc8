import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { ROOT } from "./deploy-files.js";
import { requireBinary } from "./require-binary.js";

// docker-compose.yml as `docker-compose config` (Debian's docker-compose, v1 syntax) resolves it,
// for checks without a Docker engine.

export const COMPOSE_FILE = join(ROOT, "docker-compose.yml");

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string; args?: Record<string, string> };
  command?: string[] | string;
  environment?: Record<string, string | null>;
  ports?: unknown[];
  container_name?: string;
  user?: string;
  volumes?: (string | { type?: string; source?: string; target: string; read_only?: boolean })[];
  healthcheck?: { test: string[] | string; interval?: string };
  depends_on?: Record<string, { condition: string }> | string[];
  profiles?: string[];
  restart?: string;
}

export interface ResolvedCompose {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

/** Runs docker-compose on the repo's file with only the given variables (no .env, no shell values). */
export function compose(args: string[], vars: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "mcic-compose-"));
  try {
    const envFile = join(dir, "env");
    writeFileSync(
      envFile,
      Object.entries(vars)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(""),
    );
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME ?? dir };
    return spawnSync("docker-compose", ["--env-file", envFile, "-f", COMPOSE_FILE, ...args], {
      encoding: "utf8",
      env,
      cwd: ROOT,
      timeout: 20_000,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The file as `docker-compose --profile <profile> config` prints it. */
export function resolveCompose(profile: string, vars: Record<string, string>): ResolvedCompose {
  requireBinary("docker-compose", "apt-get install docker-compose");
  const resolved = compose(["--profile", profile, "config"], vars);
  if (resolved.status !== 0)
    throw new Error(`docker-compose config failed:\n${resolved.stderr}${resolved.error ?? ""}`);
  const doc = parse(resolved.stdout) as Partial<ResolvedCompose>;
  return { services: doc.services ?? {}, volumes: doc.volumes ?? {} };
}

export function commandOf(service: ComposeService): string[] {
  if (!Array.isArray(service.command)) throw new Error("commands are written in exec (list) form");
  return service.command;
}

export function healthTest(service: ComposeService): string[] {
  const test = service.healthcheck?.test;
  if (!Array.isArray(test)) throw new Error("healthcheck.test is written in exec (list) form");
  return test;
}

/** Source and target of each mount ("src:dst[:mode]" or long syntax). */
export function mountsOf(service: ComposeService): { source: string; target: string; readOnly: boolean }[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== "string") return { source: v.source ?? "", target: v.target, readOnly: v.read_only === true };
    const [source = "", target = "", mode = ""] = v.split(":");
    return { source, target, readOnly: mode.split(",").includes("ro") };
  });
}

/** Whether a named volume of the file is mounted at `target`. */
export function mountsNamedVolume(service: ComposeService, target: string, volumes: Record<string, unknown>): boolean {
  return mountsOf(service).some((m) => m.target === target && m.source in volumes);
}

/** The services of profile "ha" (docker-compose.yml): the node names the URLs and routes use. */
export const HA_NODES = {
  nats: ["nats-1", "nats-2", "nats-3"],
  redis: ["redis-1", "redis-2"],
  sentinel: ["sentinel-1", "sentinel-2", "sentinel-3"],
} as const;
