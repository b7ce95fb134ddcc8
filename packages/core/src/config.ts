import { z } from "zod";
import { DEFAULT_EGRESS_DENY, parseCidrList } from "./egress-policy.js";
import { ConfigError } from "./errors.js";
import { parseRedisUrl, RedisTarget } from "./redis-url.js";
import { fieldErrors } from "./zod-issues.js";

const DURATION = /^(\d+)(ms|s|m|h)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Parses "1s", "250ms", "2m", "4h" into milliseconds. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration like 500ms, 5s, 2m or 1h`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

const durationList = z.string().transform((text, ctx) => {
  try {
    const list = text.split(",").map((part) => parseDuration(part));
    if (list.length === 0) throw new Error("empty list");
    return list;
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

const secretKey = z.string().transform((text, ctx) => {
  const key = Buffer.from(text, "base64");
  if (key.length !== 32) {
    ctx.addIssue({
      code: "custom",
      message: "must be 32 bytes in base64 (openssl rand -base64 32)",
    });
    return z.NEVER;
  }
  return key;
});

const prefix = z
  .string()
  // No "_": stream names turn "-" into "_", so allowing both would let two prefixes share a stream.
  .regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and - (used in subjects, keys and stream names)");

const cidrList = z.string().transform((text, ctx) => {
  try {
    return parseCidrList(text);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

/** Parsed once here, so a bad URL stops the service at start; the issue never repeats the URL. */
const redisUrl = z.string().transform((text, ctx) => {
  try {
    return parseRedisUrl(text);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

/** Variables every service reads. */
export const baseEnvSchema = z.object({
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  REDIS_URL: redisUrl.prefault("redis://127.0.0.1:6379"),
  MCIC_PREFIX: prefix.default("mcic"),
  MCIC_SECRET_KEY: secretKey,
  /** The former key during a key rotation: opens old values, never seals. Empty = unset. */
  MCIC_SECRET_KEY_PREVIOUS: z.preprocess((v) => (v === "" ? undefined : v), secretKey.optional()),
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Ranges no outbound connection may reach; "" denies nothing. */
  MCIC_EGRESS_DENY: cidrList.default([...DEFAULT_EGRESS_DENY]),
  /** When set (non-empty), the only ranges outbound connections may reach. */
  MCIC_EGRESS_ALLOW: cidrList.optional().transform((list) => (list?.length ? list : undefined)),
});

export const envSchemas = {
  durationList,
  cidrList,
  port: z.coerce.number().int().min(0).max(65535),
  positiveInt: z.coerce.number().int().positive(),
};

/** Parses the environment once at start-up; throws ConfigError naming every bad variable. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const result = schema.safeParse(env);
  if (!result.success) throw new ConfigError(fieldErrors(result.error));
  return result.data;
}

const SECRET_NAMES = /SECRET|TOKEN|PASSWORD|KEY/i;

/** A copy of a config safe to log: secrets and URL passwords replaced. */
export function redactConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config)) {
    if (SECRET_NAMES.test(name)) out[name] = value === undefined ? undefined : "[redacted]";
    else if (value instanceof RedisTarget) out[name] = value.redacted;
    else if (typeof value === "string" && /^[a-z]+:\/\/[^/]*@/.test(value))
      out[name] = value.replace(/\/\/[^/,]*@/g, "//[redacted]@");
    else out[name] = value;
  }
  return out;
}
