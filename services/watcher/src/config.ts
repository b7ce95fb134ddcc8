import { hostname } from "node:os";
import { baseEnvSchema, envSchemas, parseEnv } from "@mcic/core";
import { z } from "zod";

const watcherEnvSchema = baseEnvSchema.extend({
  METRICS_PORT: envSchemas.port.default(9464),
  WATCHER_ID: z.string().min(1).default(`${hostname()}-${process.pid}`),
  LEASE_TTL_MS: envSchemas.positiveInt.default(15_000),
  // Off by default: undici's HTTP/2 is still marked experimental, and it was not yet measured on a
  // quiet machine (docs/benchmarks.md, "Watcher at 5,000 clusters"). On, every watch of a TLS
  // cluster shares one connection (one file descriptor per cluster instead of one per watch).
  WATCH_HTTP2: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
});

export type WatcherConfig = z.output<typeof watcherEnvSchema>;

export function loadWatcherConfig(env: NodeJS.ProcessEnv = process.env): WatcherConfig {
  return parseEnv(watcherEnvSchema, env);
}
