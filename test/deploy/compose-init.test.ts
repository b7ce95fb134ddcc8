import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type TestServer, startNats, startRedis, waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./deploy-files.js";

// docker-compose.yml's init service (deploy/init/mcic-init.sh) and the services' entry point
// (deploy/init/mcic-env.sh), run outside a container with a temporary directory as the volume.

const run = promisify(execFile);
const INIT = join(ROOT, "deploy/init/mcic-init.sh");
const ENTRY = join(ROOT, "deploy/init/mcic-env.sh");
const uid = String(process.getuid?.() ?? 1000);

describe("compose init: MCIC_SECRET_KEY and an API token on first start", () => {
  let dir: string;
  let volume: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "mcic-init-test-"));
    volume = join(dir, "volume");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const init = () => run("sh", [INIT, volume], { env: { PATH: process.env.PATH, MCIC_UID: uid } });
  const entry = (env: Record<string, string>, script: string) =>
    run("sh", [ENTRY, "sh", "-c", script], { env: { PATH: process.env.PATH, MCIC_INIT_DIR: volume, ...env } });

  it("writes a 32-byte base64 key and a token, readable by the owner only, and says where the token is", async () => {
    const { stdout } = await init();
    expect(stdout).toMatch(/generated .*secret-key/);
    expect(stdout).toMatch(/generated .*api-token/);
    expect(stdout).toContain(`docker compose exec api cat ${volume}/api-token`);
    const key = readFileSync(join(volume, "secret-key"), "utf8").trim();
    expect(Buffer.from(key, "base64")).toHaveLength(32);
    expect(readFileSync(join(volume, "api-token"), "utf8")).toMatch(/^[0-9a-f]{48}$/);
    for (const file of ["secret-key", "api-token"]) {
      const st = statSync(join(volume, file));
      expect(st.mode & 0o777, file).toBe(0o400);
      expect(String(st.uid), file).toBe(uid);
    }
  });

  it("keeps both on later starts: the key decrypts what is stored, clients hold the token", async () => {
    const before = ["secret-key", "api-token"].map((f) => readFileSync(join(volume, f), "utf8"));
    const { stdout } = await init();
    expect(stdout).toMatch(/secret-key exists, kept/);
    expect(["secret-key", "api-token"].map((f) => readFileSync(join(volume, f), "utf8"))).toEqual(before);
  });

  it("the entry point exports them (the token to the api only), and values from .env win", async () => {
    const key = readFileSync(join(volume, "secret-key"), "utf8").trim();
    const token = readFileSync(join(volume, "api-token"), "utf8").trim();
    const show = 'printf "%s|%s" "$MCIC_SECRET_KEY" "$(printenv API_TOKENS || echo unset)"';
    expect((await entry({ MCIC_SERVICE: "api" }, show)).stdout).toBe(`${key}|${token}`);
    expect((await entry({ MCIC_SERVICE: "watcher" }, show)).stdout).toBe(`${key}|unset`);
    const fromEnv = await entry({ MCIC_SERVICE: "api", MCIC_SECRET_KEY: "k-from-env", API_TOKENS: "t1,t2" }, show);
    expect(fromEnv.stdout).toBe("k-from-env|t1,t2");
    // Empty, as compose passes an unset .env variable, counts as unset.
    expect((await entry({ MCIC_SERVICE: "api", MCIC_SECRET_KEY: "", API_TOKENS: "" }, show)).stdout).toBe(
      `${key}|${token}`,
    );
  });

  it("fails, naming the file, when the init service did not run", async () => {
    const err = await run("sh", [ENTRY, "true"], {
      env: { PATH: process.env.PATH, MCIC_INIT_DIR: join(dir, "missing") },
    }).catch((e: Error & { stderr: string }) => e);
    expect((err as Error & { stderr: string }).stderr).toMatch(/missing\/secret-key/);
  });

  describe("an api started through the entry point", () => {
    let nats: TestServer;
    let redis: TestServer;
    beforeAll(async () => {
      [nats, redis] = await Promise.all([startNats(), startRedis()]);
    });
    afterAll(async () => {
      await Promise.all([nats?.stop(), redis?.stop()]);
    });

    it("asks for the generated token", async () => {
      const api = spawn("sh", [ENTRY, process.execPath, join(ROOT, "services/api/dist/main.js")], {
        env: {
          PATH: process.env.PATH,
          MCIC_SERVICE: "api",
          MCIC_INIT_DIR: volume,
          NATS_URL: nats.url,
          REDIS_URL: redis.url,
          API_HOST: "127.0.0.1",
          API_PORT: "0",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      api.stdout.on("data", (c: Buffer) => {
        out += c.toString();
      });
      api.stderr.on("data", (c: Buffer) => {
        out += c.toString();
      });
      try {
        const port = await waitFor(
          () => {
            if (api.exitCode !== null) throw new Error(`the api exited with ${api.exitCode}:\n${out}`);
            const line = out.split("\n").find((l) => l.includes('"msg":"listening"'));
            return line ? (JSON.parse(line) as { port: number }).port : undefined;
          },
          { timeoutMs: 60_000, message: "the api to listen" },
        );
        const token = readFileSync(join(volume, "api-token"), "utf8").trim();
        const url = `http://127.0.0.1:${port}/api/v1/clusters`;
        expect((await fetch(url)).status).toBe(401);
        expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      } finally {
        const exited = new Promise((r) => api.once("exit", r));
        api.kill("SIGTERM");
        await exited;
      }
    }, 90_000);
  });
});
