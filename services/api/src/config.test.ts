import { ConfigError } from "@mcic/core";
import { describe, expect, it } from "vitest";
import { loadApiConfig } from "./config.js";

const KEY = Buffer.alloc(32, 7).toString("base64");

function refusal(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadApiConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("loadApiConfig", () => {
  it("binds loopback without tokens and every interface with them", () => {
    expect(loadApiConfig({ MCIC_SECRET_KEY: KEY }).API_HOST).toBe("127.0.0.1");
    expect(loadApiConfig({ MCIC_SECRET_KEY: KEY, API_TOKENS: "a, b" })).toMatchObject({
      API_HOST: "0.0.0.0",
      API_TOKENS: ["a", "b"],
    });
  });

  it.each(["127.0.0.1", "127.0.0.53", "::1", "localhost"])("runs open on the loopback API_HOST %s", (host) => {
    expect(loadApiConfig({ MCIC_SECRET_KEY: KEY, API_HOST: host })).toMatchObject({ API_HOST: host, API_TOKENS: [] });
  });

  it.each(["0.0.0.0", "::", "10.0.0.5", "api.example"])(
    "refuses to run open on API_HOST %s, naming API_TOKENS",
    (host) => {
      for (const tokens of [undefined, "", " , "]) {
        const err = refusal({
          MCIC_SECRET_KEY: KEY,
          API_HOST: host,
          ...(tokens === undefined ? {} : { API_TOKENS: tokens }),
        });
        expect(err.errors).toEqual([{ path: "API_TOKENS", message: expect.stringContaining(host) }]);
        expect(err.message).toMatch(/^invalid configuration: API_TOKENS: required when API_HOST/);
      }
    },
  );

  it("binds any API_HOST with tokens", () => {
    expect(loadApiConfig({ MCIC_SECRET_KEY: KEY, API_HOST: "10.0.0.5", API_TOKENS: "t" }).API_HOST).toBe("10.0.0.5");
  });
});
