import { baseEnvSchema, envSchemas, parseEnv } from "@mcic/core";
import { z } from "zod";
import { isLoopbackBindHost } from "./loopback.js";

const apiEnvSchema = baseEnvSchema
  .extend({
    API_HOST: z.string().min(1).optional(),
    API_PORT: envSchemas.port.default(8000),
    /** Timeout of the ping sent by POST /servers/{name}/test: the dispatcher's per-attempt timeout. */
    DISPATCH_TIMEOUT_MS: envSchemas.positiveInt.default(10_000),
    API_TOKENS: z
      .string()
      .optional()
      .transform((text) =>
        (text ?? "")
          .split(",")
          .map((t) => t.trim())
          .filter(Boolean),
      ),
  })
  .transform((env) => ({
    ...env,
    // An API without tokens is open: it must not be reachable from other hosts.
    API_HOST: env.API_HOST ?? (env.API_TOKENS.length > 0 ? "0.0.0.0" : "127.0.0.1"),
  }))
  .superRefine((env, ctx) => {
    if (env.API_TOKENS.length > 0 || isLoopbackBindHost(env.API_HOST)) return;
    ctx.addIssue({
      code: "custom",
      path: ["API_TOKENS"],
      message:
        `required when API_HOST (${env.API_HOST}) is not loopback: without tokens the API is open, ` +
        "so it may only bind 127.0.0.1, ::1 or localhost",
    });
  });

export type ApiConfig = z.output<typeof apiEnvSchema>;

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  return parseEnv(apiEnvSchema, env);
}
