import { connectBackends, createLogger, exitOnStartupError, redactConfig, stopOnSignals } from "@mcic/core";
import { loadDispatcherConfig } from "./config.js";
import { createDispatcher } from "./dispatcher.js";

async function main() {
  const config = loadDispatcherConfig();
  const logger = createLogger({ name: "dispatcher", level: config.LOG_LEVEL });
  logger.info({ config: redactConfig(config) }, "starting");

  const backends = await connectBackends({
    service: "dispatcher",
    natsUrl: config.NATS_URL,
    redisUrl: config.REDIS_URL,
    prefix: config.MCIC_PREFIX,
    replicas: config.STREAM_REPLICAS,
    streams: ["events", "deliveries"],
    subscriber: true,
    logger,
  });
  const dispatcher = createDispatcher({ config, logger, backends });
  await dispatcher.start();

  stopOnSignals(logger, async () => {
    await dispatcher.stop();
    await backends.close();
  });
}

main().catch((err) => exitOnStartupError("dispatcher", err));
