import {
  Registry,
  SecretBox,
  baseEnvSchema,
  connectRedis,
  createLogger,
  exitOnStartupError,
  parseEnv,
} from "@mcic/core";
import { resealRegistry } from "./reseal-registry.js";

/**
 * The re-seal command of an MCIC_SECRET_KEY rotation (docs/operations.md): run with
 * MCIC_SECRET_KEY = the new key and MCIC_SECRET_KEY_PREVIOUS = the old one. Logs the counts and
 * exits 1 when a record could not be re-sealed.
 */
const envSchema = baseEnvSchema.pick({
  REDIS_URL: true,
  MCIC_PREFIX: true,
  MCIC_SECRET_KEY: true,
  MCIC_SECRET_KEY_PREVIOUS: true,
  LOG_LEVEL: true,
});

async function main(): Promise<number> {
  const config = parseEnv(envSchema);
  const logger = createLogger({ name: "reseal", level: config.LOG_LEVEL });
  const redis = connectRedis(config.REDIS_URL, "mcic-reseal");
  try {
    const registry = new Registry({ redis, prefix: config.MCIC_PREFIX });
    const box = new SecretBox(config.MCIC_SECRET_KEY, config.MCIC_SECRET_KEY_PREVIOUS);
    const report = await resealRegistry(registry, box, logger);
    logger.info(report, "re-seal finished");
    return report.clusters.failed + report.servers.failed > 0 ? 1 : 0;
  } finally {
    redis.disconnect();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => exitOnStartupError("reseal", err),
);
