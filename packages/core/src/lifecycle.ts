import { ConfigError } from "./errors.js";
import type { Logger } from "./logger.js";

/**
 * Runs `stop` once on SIGTERM or SIGINT and exits 0, or 1 if stopping fails or takes longer than
 * `timeoutMs` (docs/contract.md: every service exits within 10 s).
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>, timeoutMs = 10_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, "shutdown took too long; exiting");
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

/** For a service's top-level catch: a clear line for bad configuration, the stack for the rest. */
export function exitOnStartupError(service: string, err: unknown): never {
  if (err instanceof ConfigError) {
    console.error(`${service}: ${err.message}`);
  } else {
    console.error(`${service}: failed to start:`, err);
  }
  process.exit(1);
}
