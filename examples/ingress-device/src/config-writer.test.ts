import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigWriter, NginxRejectedError } from "./config-writer.js";
import { findNginx } from "./nginx.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function setup(render: () => string) {
  const dir = await mkdtemp(join(tmpdir(), "mcic-writer-"));
  dirs.push(dir);
  const nginx = await findNginx();
  expect(nginx, "nginx must be installed (.ci/run installs Debian's nginx)").toBeDefined();
  const errors: unknown[] = [];
  let writes = 0;
  const out = join(dir, "mcic.conf");
  const writer = new ConfigWriter({
    out,
    render,
    nginx,
    reload: false,
    onWritten: () => writes++,
    onError: (err) => errors.push(err),
  });
  return { dir, out, writer, errors, writes: () => writes };
}

const GOOD = (n: number) => `server { listen 8080; server_name n${n}.example.com; location / { return 204; } }\n`;

describe("ConfigWriter", () => {
  it("folds a burst of requests into at most two writes and ends with the newest render", async () => {
    let n = 0;
    const { out, writer, writes, errors, dir } = await setup(() => GOOD(n));
    for (n = 1; n <= 20; n++) writer.request();
    n = 20;
    await writer.idle();
    expect(await readFile(out, "utf8")).toBe(GOOD(20));
    expect(writes()).toBeLessThanOrEqual(2);
    expect(errors).toEqual([]);
    expect(await readdir(dir)).toEqual(["mcic.conf"]); // no temporary file left
  });

  it("keeps the previous file when nginx -t refuses the new one, and says why", async () => {
    let text = GOOD(1);
    const { out, writer, errors, dir } = await setup(() => text);
    writer.request();
    await writer.idle();
    text = "server { listen 8080; location / { proxy_pass http://; }\n";
    writer.request();
    await writer.idle();
    expect(await readFile(out, "utf8")).toBe(GOOD(1));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(NginxRejectedError);
    expect(String(errors[0])).toMatch(/nginx -t refused/);
    expect(await readdir(dir)).toEqual(["mcic.conf"]);
  });
});
