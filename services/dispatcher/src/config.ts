import { baseEnvSchema, envSchemas, parseEnv } from "@mcic/core";
import type { z } from "zod";

const dispatcherEnvSchema = baseEnvSchema.extend({
  METRICS_PORT: envSchemas.port.default(9465),
  DISPATCH_CONCURRENCY: envSchemas.positiveInt.default(256),
  DISPATCH_TIMEOUT_MS: envSchemas.positiveInt.default(10_000),
  DISPATCH_RETRY_SCHEDULE: envSchemas.durationList.prefault(
    ["1s", "5s", "30s", "2m", "10m", "30m", "1h", "2h", "4h", "8h"].join(","),
  ),
});

export type DispatcherConfig = z.output<typeof dispatcherEnvSchema>;

export function loadDispatcherConfig(env: NodeJS.ProcessEnv = process.env): DispatcherConfig {
  return parseEnv(dispatcherEnvSchema, env);
}
