import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort, waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBinary } from "../deploy/require-binary.js";

// The README's walk-through, run as written (only its ports replaced: 8000 → the API's, 8090 → the
// demo receiver's) against `make run`'s stack (scripts/run.mjs, after `tsc -b`), in a temporary
// directory as the working directory, so `.mcic/` is the run's own and the developer's is untouched.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const run = promisify(execFile);

/** The fenced blocks marked `sh walkthrough` of README.md. */
function walkthroughBlocks(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  return [...readme.matchAll(/^```sh walkthrough\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
}

describe("README walk-through against make run", () => {
  let dir: string;
  let stack: ChildProcess;
  let output = "";
  const env: Record<string, string> = {};
  let apiPort: number;
  let receiverPort: number;

  const runScript = (args: string[]) =>
    spawn(process.execPath, [join(ROOT, "scripts/run.mjs"), ...args], {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });

  beforeAll(async () => {
    requireBinary("kubectl", "apt-get install kubernetes-client");
    requireBinary("jq", "apt-get install jq");
    requireBinary("curl", "apt-get install curl");
    await run("npx", ["tsc", "-b"], { cwd: ROOT, timeout: 240_000 });
    dir = mkdtempSync(join(tmpdir(), "mcic-walkthrough-"));
    apiPort = await freePort();
    receiverPort = await freePort();
    Object.assign(env, {
      MCIC_DATA_DIR: join(dir, ".mcic"),
      NATS_URL: `nats://127.0.0.1:${await freePort()}`,
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      API_PORT: String(apiPort),
      DEMO_RECEIVER_PORT: String(receiverPort),
      WATCHER_METRICS_PORT: String(await freePort()),
      DISPATCHER_METRICS_PORT: String(await freePort()),
      // No churn: the only change to shop/web is the walk-through's annotate.
      DEMO_CHURN_MS: "0",
      LOG_FORMAT: "",
      API_TOKENS: "",
      MCIC_SECRET_KEY: "",
    });
    stack = runScript([]);
    stack.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    stack.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    await waitFor(() => output.includes("Walk-through:") || stack.exitCode !== null, {
      timeoutMs: 120_000,
      message: "make run to be up",
    });
    expect(stack.exitCode, output).toBeNull();
  }, 360_000);

  afterAll(async () => {
    if (stack && stack.exitCode === null) {
      const exited = new Promise((r) => stack.once("exit", r));
      stack.kill("SIGTERM");
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("runs every command of the README's walk-through, and the annotate reaches the demo receiver", async () => {
    const blocks = walkthroughBlocks();
    expect(blocks).toHaveLength(1);
    const script = (blocks[0] as string)
      .replaceAll("localhost:8000", `localhost:${apiPort}`)
      .replaceAll(":8090/", `:${receiverPort}/`);
    expect(script).toContain("kubectl --kubeconfig .mcic/demo-kubeconfig.yaml");
    // Wait for the demo's initial events, so the annotate's MODIFIED is the one that follows them.
    await waitFor(() => output.includes("ADDED    Ingress shop/web (cluster demo"), {
      timeoutMs: 60_000,
      message: "demo ADDED events",
    });

    // The README runs from the repository root, where `npx mcic` finds the workspace's bin.
    if (!existsSync(join(dir, "node_modules"))) symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    const { stdout, stderr } = await run("bash", ["-euo", "pipefail", "-c", script], {
      cwd: dir,
      // BASH_ENV/ENV would make the non-interactive shell source a startup file first (seen: a
      // bashrc reading an unset PS1 under -u); the README's steps are run in a clean shell.
      env: { ...process.env, PATH: process.env.PATH ?? "", BASH_ENV: "", ENV: "" },
      timeout: 60_000,
    });
    expect(stderr).toBe("");
    // 1: kubectl lists the demo's ingresses; the demo cluster has a status.
    expect(stdout).toMatch(/^NAMESPACE\s+NAME\s+AGE$/m);
    for (const ing of ["blog\\s+www", "shop\\s+api", "shop\\s+web"])
      expect(stdout).toMatch(new RegExp(`^${ing}\\s`, "m"));
    expect(stdout).toMatch(/"networking\.k8s\.io\/v1\/ingresses"/);
    // 2 and 3: both registrations were created (a problem+json would name its fields instead).
    expect(stdout).toMatch(/"name":"prod"/);
    expect(stdout).toMatch(/"name":"lb-1".*"secret":"whsec_/);
    expect(stdout).not.toMatch(/problem|"errors"/);
    // 4: the annotate.
    expect(stdout).toMatch(/ingress\.networking\.k8s\.io\/web annotated$/m);
    // 5: mcic added and patched lb-2, and its status screen lists the clusters and the servers.
    expect(stdout).toMatch(/^secret: whsec_/m);
    expect(stdout).toMatch(/^CLUSTER\s+RESOURCE\s+STATE/m);
    expect(stdout).toMatch(/^prod\s+ingresses\s+\w+/m);
    expect(stdout).toMatch(/^lb-2\s/m);

    await waitFor(
      () =>
        /\[demo-receiver\] MODIFIED Ingress shop\/web \(cluster demo, rv \d+\) signature ok/.test(output) &&
        /\[demo-receiver\] MODIFIED Ingress shop\/web \(cluster prod, rv \d+\) signature not checked \(no secret for \/lb-1\)/.test(
          output,
        ),
      { timeoutMs: 60_000, message: `the annotate at the demo receiver:\n${output.slice(-3000)}` },
    );
    expect(output).not.toMatch(/signature BAD/);
  }, 240_000);

  it("make reset refuses while make run runs, then removes its registrations and .mcic/", async () => {
    const attempt = async () => {
      const child = runScript(["--reset"]);
      let text = "";
      child.stdout?.on("data", (c: Buffer) => {
        text += c.toString();
      });
      const code = await new Promise<number | null>((r) => child.once("exit", r));
      return { code, text };
    };
    const refused = await attempt();
    expect(refused.code).toBe(1);
    expect(refused.text).toMatch(/make run is still running \(pid \d+\): stop it/);
    expect(existsSync(join(dir, ".mcic", "demo-kubeconfig.yaml"))).toBe(true);

    const exited = new Promise((r) => stack.once("exit", r));
    stack.kill("SIGTERM");
    await exited;
    expect(output).toMatch(/\[mcic\].* stopped\n$/);
    const done = await attempt();
    expect(done.code, done.text).toBe(0);
    expect(done.text).toMatch(/deleted cluster demo/);
    expect(done.text).toMatch(/deleted server demo-receiver-[0-9a-f]{4}/);
    expect(done.text).toMatch(/removed \.mcic/);
    expect(existsSync(join(dir, ".mcic"))).toBe(false);
  }, 300_000);
});
