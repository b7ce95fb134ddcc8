import { connectBackends, createLogger, exitOnStartupError, redactConfig, stopOnSignals } from "@mcic/core";
import { loadWatcherConfig } from "./config.js";
import { createWatcher } from "./watcher.js";

async function main() {
  const config = loadWatcherConfig();
  const logger = createLogger({ name: "watcher", level: config.LOG_LEVEL }).child({ watcherId: config.WATCHER_ID });
  logger.info({ config: redactConfig(config) }, "starting");

  const backends = await connectBackends({
    service: `watcher-${config.WATCHER_ID}`,
    natsUrl: config.NATS_URL,
    redisUrl: config.REDIS_URL,
    prefix: config.MCIC_PREFIX,
    replicas: config.STREAM_REPLICAS,
    streams: ["events", "deliveries"],
    subscriber: true,
    logger,
  });
  const watcher = createWatcher({ config, logger, backends });
  await watcher.start();

  stopOnSignals(logger, async () => {
    await watcher.stop();
    await backends.close();
  });
}

main().catch((err) => exitOnStartupError("watcher", err));
