import { describe, expect, it } from "vitest";
import { parseOptions } from "./options.js";

const env = { MCIC_WEBHOOK_SECRETS: "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, whsec_BBBB" };

describe("ingress-device options", () => {
  it("takes flags and the secrets from the environment, with defaults", () => {
    expect(parseOptions(["--out", "/tmp/x.conf", "--reload", "--state-dir", "/tmp/s"], env)).toEqual({
      out: "/tmp/x.conf",
      port: 8088,
      host: "127.0.0.1",
      stateDir: "/tmp/s",
      listenPort: 80,
      upstreamPort: 80,
      check: true,
      reload: true,
      secrets: ["whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "whsec_BBBB"],
    });
  });

  it("names the flag or variable that is wrong", () => {
    expect(() => parseOptions(["--out", "x", "--port", "70000"], env)).toThrow(/^--port:/);
    expect(() => parseOptions(["--out", "x", "--listen-port", "abc"], env)).toThrow(/^--listen-port:/);
    expect(() => parseOptions([], env)).toThrow(/^--out:/);
    expect(() => parseOptions(["--out", "x"], {})).toThrow(/^MCIC_WEBHOOK_SECRETS:/);
    expect(() => parseOptions(["--out", "x"], { MCIC_WEBHOOK_SECRETS: "hunter2" })).toThrow(/^MCIC_WEBHOOK_SECRETS:/);
    expect(() => parseOptions(["--out", "x", "--bogus"], env)).toThrow(/bogus/);
  });
});
