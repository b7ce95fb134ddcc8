import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Io } from "./context.js";
import { run } from "./program.js";

/** Runs the CLI in-process with an API address nothing listens on: usage errors must come first. */
async function mcic(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    out: (t) => {
      stdout += t;
    },
    err: (t) => {
      stderr += t;
    },
    env: { MCIC_API: "http://127.0.0.1:9" },
    now: () => new Date("2026-12-02T12:00:00Z"),
    interrupted: () => new Promise(() => {}),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

const dir = mkdtempSync(join(tmpdir(), "mcic-cli-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the command line", () => {
  it("--help and --version exit 0 on stdout; the help documents the exit codes", async () => {
    const help = await mcic("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Exit codes:");
    expect(help.stdout).toContain("MCIC_TOKEN");
    expect((await mcic("--version")).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("a missing argument or a bad option value is exit 2 with commander's message", async () => {
    const missing = await mcic("cluster", "get");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("error: missing required argument 'name'");
    const url = await mcic("server", "add", "lb");
    expect(url.code).toBe(2);
    expect(url.stderr).toContain("error: required option '--url <url>' not specified");
    const type = await mcic("server", "add", "lb", "--url", "http://x", "--event-type", "CREATED");
    expect(type.code).toBe(2);
    expect(type.stderr).toContain("expected ADDED, MODIFIED, DELETED");
    const header = await mcic("server", "add", "lb", "--url", "http://x", "--header", "novalue");
    expect(header.code).toBe(2);
    expect(header.stderr).toContain("expected Name=value");
  });

  it("conflicting or misplaced connection options are usage errors naming them", async () => {
    const context = await mcic("cluster", "add", "x", "--server", "https://k", "--context", "c");
    expect(context).toMatchObject({ code: 2, stdout: "" });
    expect(context.stderr).toBe("error: --context needs --kubeconfig\n");
    const ca = await mcic("cluster", "patch", "x", "--ca-file", "ca.pem");
    expect(ca.stderr).toBe("error: --ca-file needs --server\n");
    const both = await mcic("cluster", "patch", "x", "--namespaces", "a", "--all-namespaces");
    expect(both.stderr).toBe("error: give either --namespaces or --all-namespaces\n");
  });

  it("files: an empty token file is refused, and no file content ever appears in a message", async () => {
    const empty = join(dir, "empty");
    writeFileSync(empty, "");
    const res = await mcic("cluster", "add", "x", "--server", "https://k", "--token-file", empty);
    expect(res).toMatchObject({ code: 2, stderr: `error: --token-file ${empty} is empty\n` });
    const patch = await mcic("server", "patch", "lb", "--patch", "[1,2]");
    expect(patch).toMatchObject({ code: 2, stderr: "error: --patch must be a JSON object\n" });
  });

  it("an API that does not answer is exit 1 with the reason", async () => {
    const res = await mcic("status");
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: cannot reach the mcic API at http:\/\/127\.0\.0\.1:9: /);
  });

  it("--api with credentials in it is refused: the token goes in --token or MCIC_TOKEN", async () => {
    const res = await mcic("--api", "http://user:secret@127.0.0.1:8000", "cluster", "list");
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("must not contain a user name or password");
    expect(res.stderr).not.toContain("secret");
  });
});
