import { describe, expect, it } from "vitest";
import { baseEnvSchema, envSchemas, parseDuration, parseEnv, redactConfig } from "./config.js";
import { ConfigError } from "./errors.js";

const KEY = Buffer.alloc(32, 7).toString("base64");

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("parseEnv(baseEnvSchema)", () => {
  it("fills in the documented defaults", () => {
    const config = parseEnv(baseEnvSchema, { MCIC_SECRET_KEY: KEY });
    expect(config.NATS_URL).toBe("nats://127.0.0.1:4222");
    expect(config.REDIS_URL.mode).toBe("standalone");
    expect(config.REDIS_URL.redacted).toBe("redis://127.0.0.1:6379");
    expect(config.MCIC_PREFIX).toBe("mcic");
    expect(config.LOG_LEVEL).toBe("info");
    expect(config.STREAM_REPLICAS).toBe(1);
    expect(config.MCIC_EGRESS_DENY).toEqual(["169.254.0.0/16", "fe80::/10", "0.0.0.0/8"]);
    expect(config.MCIC_EGRESS_ALLOW).toBeUndefined();
    expect(Buffer.isBuffer(config.MCIC_SECRET_KEY)).toBe(true);
    expect(config.MCIC_SECRET_KEY.equals(Buffer.alloc(32, 7))).toBe(true);
  });

  it("takes values from the environment", () => {
    const config = parseEnv(baseEnvSchema, {
      MCIC_SECRET_KEY: KEY,
      NATS_URL: "nats://nats:4222",
      REDIS_URL: "redis://redis:6379",
      MCIC_PREFIX: "stack-2",
      STREAM_REPLICAS: "3",
      LOG_LEVEL: "debug",
    });
    expect(config.REDIS_URL.redacted).toBe("redis://redis:6379");
    expect(config).toMatchObject({
      NATS_URL: "nats://nats:4222",
      MCIC_PREFIX: "stack-2",
      STREAM_REPLICAS: 3,
      LOG_LEVEL: "debug",
    });
  });

  it.each([
    ["16 bytes", Buffer.alloc(16, 1).toString("base64")],
    ["33 bytes", Buffer.alloc(33, 1).toString("base64")],
    ["empty", ""],
  ])("rejects a MCIC_SECRET_KEY of %s, naming it", (_label, key) => {
    const err = configError(() => parseEnv(baseEnvSchema, { MCIC_SECRET_KEY: key }));
    expect(err.errors.map((e) => e.path)).toEqual(["MCIC_SECRET_KEY"]);
    expect(err.message).toContain("MCIC_SECRET_KEY");
    expect(err.message).toContain("32 bytes");
  });

  it("requires MCIC_SECRET_KEY", () => {
    const err = configError(() => parseEnv(baseEnvSchema, {}));
    expect(err.errors.map((e) => e.path)).toEqual(["MCIC_SECRET_KEY"]);
    expect(err.message).toContain("MCIC_SECRET_KEY");
  });

  it("names every bad variable at once", () => {
    const err = configError(() =>
      parseEnv(baseEnvSchema, {
        MCIC_SECRET_KEY: KEY,
        MCIC_PREFIX: "Bad.Prefix",
        LOG_LEVEL: "loud",
        STREAM_REPLICAS: "9",
      }),
    );
    expect(err.errors.map((e) => e.path).sort()).toEqual(["LOG_LEVEL", "MCIC_PREFIX", "STREAM_REPLICAS"]);
    expect(err.code).toBe("invalid_config");
  });

  it("refuses to start on a bad REDIS_URL, naming it without echoing the password", () => {
    const err = configError(() =>
      parseEnv(baseEnvSchema, { MCIC_SECRET_KEY: KEY, REDIS_URL: "redis+sentinel://app:s3cret@s1:26379,s2:x/main" }),
    );
    expect(err.errors.map((e) => e.path)).toEqual(["REDIS_URL"]);
    expect(err.message).toContain("REDIS_URL");
    expect(err.message).toContain('sentinel 2 has port "x"');
    expect(err.message).not.toContain("s3cret");
  });
});

describe("MCIC_EGRESS_DENY and MCIC_EGRESS_ALLOW", () => {
  it("read comma lists of CIDRs; an empty deny list denies nothing, an empty allow list is no list", () => {
    const config = parseEnv(baseEnvSchema, {
      MCIC_SECRET_KEY: KEY,
      MCIC_EGRESS_DENY: "",
      MCIC_EGRESS_ALLOW: "10.0.0.0/8, fd00::/8",
    });
    expect(config.MCIC_EGRESS_DENY).toEqual([]);
    expect(config.MCIC_EGRESS_ALLOW).toEqual(["10.0.0.0/8", "fd00::/8"]);
    expect(parseEnv(baseEnvSchema, { MCIC_SECRET_KEY: KEY, MCIC_EGRESS_ALLOW: "" }).MCIC_EGRESS_ALLOW).toBeUndefined();
  });

  it("refuses to start on a bad CIDR, naming the variable and the entry", () => {
    const err = configError(() =>
      parseEnv(baseEnvSchema, {
        MCIC_SECRET_KEY: KEY,
        MCIC_EGRESS_DENY: "169.254.0.0/16,10.0.0.0/40",
        MCIC_EGRESS_ALLOW: "internal.example",
      }),
    );
    expect(err.errors.map((e) => e.path).sort()).toEqual(["MCIC_EGRESS_ALLOW", "MCIC_EGRESS_DENY"]);
    expect(err.message).toContain('"10.0.0.0/40" is not a CIDR');
    expect(err.message).toContain('"internal.example" is not a CIDR');
  });
});

describe("parseDuration", () => {
  it.each([
    ["250ms", 250],
    ["1s", 1000],
    ["2m", 120_000],
    ["4h", 14_400_000],
    [" 5s ", 5000],
    ["0s", 0],
  ])("%s -> %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "5", "s", "1.5s", "-1s", "1d", "1 s", "5S"])("rejects %j", (text) => {
    expect(() => parseDuration(text)).toThrow(/not a duration/);
  });
});

describe("envSchemas.durationList", () => {
  it("parses the default retry schedule", () => {
    expect(envSchemas.durationList.parse("1s,5s,30s,2m,10m,30m,1h,2h,4h,8h")).toEqual([
      1000, 5000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000,
    ]);
  });

  it("tolerates spaces after commas", () => {
    expect(envSchemas.durationList.parse("1s, 2m")).toEqual([1000, 120_000]);
  });

  it.each(["1s,soon,1h", "1s,,5s", ""])("rejects %j with the offending part", (text) => {
    const result = envSchemas.durationList.safeParse(text);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/not a duration/);
  });

  it("reports a bad schedule through parseEnv as a ConfigError naming the variable", () => {
    const schema = baseEnvSchema.extend({ DISPATCH_RETRY_SCHEDULE: envSchemas.durationList.default([1000]) });
    const err = configError(() => parseEnv(schema, { MCIC_SECRET_KEY: KEY, DISPATCH_RETRY_SCHEDULE: "1s,5x" }));
    expect(err.errors[0]?.path).toBe("DISPATCH_RETRY_SCHEDULE");
    expect(err.message).toContain('"5x"');
  });
});

describe("envSchemas.port and positiveInt", () => {
  it("coerce numbers from strings and reject out-of-range values", () => {
    expect(envSchemas.port.parse("8000")).toBe(8000);
    expect(envSchemas.port.safeParse("70000").success).toBe(false);
    expect(envSchemas.positiveInt.parse("256")).toBe(256);
    expect(envSchemas.positiveInt.safeParse("0").success).toBe(false);
    expect(envSchemas.positiveInt.safeParse("1.5").success).toBe(false);
  });
});

describe("redactConfig", () => {
  it("hides key and token values but keeps their names", () => {
    const out = redactConfig({
      MCIC_SECRET_KEY: Buffer.alloc(32, 1),
      API_TOKENS: "t1,t2",
      GITHUB_TOKEN_FILE: "/run/token",
      DB_PASSWORD: "hunter2",
      MCIC_PREFIX: "mcic",
      API_PORT: 8000,
    });
    expect(out).toEqual({
      MCIC_SECRET_KEY: "[redacted]",
      API_TOKENS: "[redacted]",
      GITHUB_TOKEN_FILE: "[redacted]",
      DB_PASSWORD: "[redacted]",
      MCIC_PREFIX: "mcic",
      API_PORT: 8000,
    });
  });

  it("leaves an unset secret unset rather than pretending one is configured", () => {
    expect(redactConfig({ API_TOKENS: undefined })).toEqual({ API_TOKENS: undefined });
  });

  it("hides passwords in URLs and keeps the rest of the URL", () => {
    const out = redactConfig({
      REDIS_URL: "redis://default:s3cret@redis.internal:6379/0",
      NATS_URL: "nats://127.0.0.1:4222",
    });
    expect(out.REDIS_URL).toBe("redis://[redacted]@redis.internal:6379/0");
    expect(out.NATS_URL).toBe("nats://127.0.0.1:4222");
    expect(JSON.stringify(out)).not.toContain("s3cret");
  });

  it("hides the password of every server in a comma-separated NATS_URL", () => {
    // connectNats splits NATS_URL on "," so a cluster list with credentials is valid input.
    const out = redactConfig({ NATS_URL: "nats://app:pw-one@n1:4222,nats://app:pw-two@n2:4222" });
    expect(JSON.stringify(out)).not.toContain("pw-one");
    expect(JSON.stringify(out)).not.toContain("pw-two");
  });

  it("shows a parsed REDIS_URL as its redacted URL", () => {
    const config = parseEnv(baseEnvSchema, {
      MCIC_SECRET_KEY: KEY,
      REDIS_URL: "redis+sentinel://app:s3cret@s1:26379,s2:26379/main",
    });
    const out = redactConfig(config);
    expect(out.REDIS_URL).toBe("redis+sentinel://[redacted]@s1:26379,s2:26379/main");
    expect(JSON.stringify(out)).not.toContain("s3cret");
  });

  it("does not change its input", () => {
    const input = { API_TOKENS: "t", REDIS_URL: "redis://u:p@h:1" };
    redactConfig(input);
    expect(input).toEqual({ API_TOKENS: "t", REDIS_URL: "redis://u:p@h:1" });
  });
});
