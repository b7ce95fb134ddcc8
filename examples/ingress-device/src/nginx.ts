import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The nginx binary on PATH (or in /usr/sbin, where Debian puts it), or undefined. */
export async function findNginx(): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"].filter(Boolean);
  for (const dir of dirs) {
    const file = join(dir, "nginx");
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not here: try the next directory
    }
  }
  return undefined;
}

export interface CheckResult {
  ok: boolean;
  /** nginx's own words (stderr) when it refused the file. */
  output: string;
}

/**
 * `nginx -t` on the generated file, included from a minimal wrapper config whose pid, logs and
 * temp paths live in a scratch directory, so the check needs no root and touches nothing of a
 * running nginx.
 */
export async function checkConfig(nginx: string, file: string): Promise<CheckResult> {
  const dir = await mkdtemp(join(tmpdir(), "mcic-nginx-check-"));
  try {
    const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
      .map((t) => `${t}_temp_path ${join(dir, t)};`)
      .join(" ");
    const wrapper = join(dir, "nginx.conf");
    await writeFile(
      wrapper,
      `pid ${join(dir, "nginx.pid")};\nerror_log ${join(dir, "error.log")};\nevents {}\n` +
        `http {\n  access_log off;\n  ${temps}\n  include ${file};\n}\n`,
    );
    await run(nginx, ["-t", "-q", "-p", dir, "-e", join(dir, "error.log"), "-c", wrapper]);
    return { ok: true, output: "" };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return { ok: false, output: (e.stderr || e.message).trim() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Asks the running nginx to load its configuration again (`nginx -s reload`). */
export async function reloadNginx(nginx: string): Promise<void> {
  await run(nginx, ["-s", "reload"]);
}
