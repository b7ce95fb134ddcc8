import { hostname } from "node:os";
import { baseEnvSchema, envSchemas, parseEnv } from "@mcic/core";
import { z } from "zod";

const watcherEnvSchema = baseEnvSchema.extend({
  METRICS_PORT: envSchemas.port.default(9464),
  WATCHER_ID: z.string().min(1).default(`${hostname()}-${process.pid}`),
  LEASE_TTL_MS: envSchemas.positiveInt.default(15_000),
});

export type WatcherConfig = z.output<typeof watcherEnvSchema>;

export function loadWatcherConfig(env: NodeJS.ProcessEnv = process.env): WatcherConfig {
  return parseEnv(watcherEnvSchema, env);
}
