import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { startService } from "../support/stack.js";

describe("starting a service alone", () => {
  it.each(["api", "watcher", "dispatcher"] as const)(
    "%s refuses a missing or bad MCIC_SECRET_KEY with one clear line",
    async (name) => {
      const envs: Record<string, string>[] = [{}, { MCIC_SECRET_KEY: "dG9vLXNob3J0" }];
      for (const env of envs) {
        const svc = startService(name, { NATS_URL: "nats://127.0.0.1:1", REDIS_URL: "redis://127.0.0.1:1", ...env });
        const [code] = (await once(svc.child, "exit")) as [number];
        expect(code).toBe(1);
        expect(svc.lines.join("\n")).toMatch(/invalid configuration: MCIC_SECRET_KEY: /);
      }
    },
  );

  it("api refuses to run open (no API_TOKENS) on a non-loopback API_HOST, in one line naming API_TOKENS", async () => {
    const svc = startService("api", {
      NATS_URL: "nats://127.0.0.1:1",
      REDIS_URL: "redis://127.0.0.1:1",
      MCIC_SECRET_KEY: Buffer.alloc(32, 1).toString("base64"),
      API_HOST: "0.0.0.0",
      API_PORT: "0",
    });
    // "close", not "exit": it comes after the child's output has been read.
    const [code] = (await once(svc.child, "close")) as [number];
    expect(code).toBe(1);
    expect(svc.lines).toEqual([
      expect.stringMatching(/^api: invalid configuration: API_TOKENS: required when API_HOST/),
    ]);
  });

  it("names every bad variable at once", async () => {
    const svc = startService("dispatcher", {
      MCIC_SECRET_KEY: Buffer.alloc(32, 1).toString("base64"),
      DISPATCH_RETRY_SCHEDULE: "1s,soon",
      DISPATCH_CONCURRENCY: "-4",
      MCIC_PREFIX: "Has Spaces",
    });
    await once(svc.child, "exit");
    const out = svc.lines.join("\n");
    for (const v of ["DISPATCH_RETRY_SCHEDULE", "DISPATCH_CONCURRENCY", "MCIC_PREFIX"]) expect(out).toContain(v);
  });
});
