import { once } from "node:events";
import type { AddressInfo } from "node:net";
import {
  connectBackends,
  Registry,
  SecretBox,
  WebhookSender,
  createLogger,
  exitOnStartupError,
  redactConfig,
  stopOnSignals,
} from "@mcic/core";
import { createApi } from "./app.js";
import { loadApiConfig } from "./config.js";

async function main() {
  const config = loadApiConfig();
  const logger = createLogger({ name: "api", level: config.LOG_LEVEL });
  logger.info({ config: redactConfig(config) }, "starting");
  if (config.API_TOKENS.length === 0) {
    logger.warn({ host: config.API_HOST }, "API_TOKENS is empty: the API is open to anyone who can reach it");
  }

  const backends = await connectBackends({
    service: "api",
    natsUrl: config.NATS_URL,
    redisUrl: config.REDIS_URL,
    prefix: config.MCIC_PREFIX,
    replicas: config.STREAM_REPLICAS,
    streams: ["deliveries"],
    subscriber: false,
    logger,
  });
  const { redis, nats } = backends;
  const sender = new WebhookSender({ timeoutMs: config.DISPATCH_TIMEOUT_MS });
  const api = createApi({
    registry: new Registry({ redis, prefix: config.MCIC_PREFIX }),
    box: new SecretBox(config.MCIC_SECRET_KEY),
    logger,
    tokens: config.API_TOKENS,
    prefix: config.MCIC_PREFIX,
    nats,
    sender,
    checkReady: backends.checkReady,
  });

  const server = api.app.listen(config.API_PORT, config.API_HOST);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  logger.info({ url: `http://${config.API_HOST}:${port}`, port }, "listening");

  stopOnSignals(logger, async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await api.settled();
    await sender.close();
    await backends.close();
  });
}

main().catch((err) => exitOnStartupError("api", err));
