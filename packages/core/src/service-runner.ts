import { type Backends, type BackendOptions, connectBackends } from "./backends.js";
import { redactConfig } from "./config.js";
import { exitOnStartupError, stopOnSignals } from "./lifecycle.js";
import { createLogger, type Logger } from "./logger.js";
import type { RedisTarget } from "./redis-url.js";

/** What every service's configuration has: where NATS and Redis are, and how to log. */
export interface ServiceBaseConfig {
  NATS_URL: string;
  REDIS_URL: RedisTarget;
  MCIC_PREFIX: string;
  STREAM_REPLICAS: number;
  LOG_LEVEL: string;
}

/** A service built by its factory from connected backends: started once, stopped once. */
export interface RunnableService {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceDefinition<C extends ServiceBaseConfig> {
  name: "api" | "watcher" | "dispatcher";
  loadConfig: () => C;
  /** Fields every log line of this process carries (the watcher's replica id). */
  logContext?: (config: C) => Record<string, unknown>;
  /** Connection name suffix when replicas must tell theirs apart (default: the service name). */
  connectionName?: (config: C) => string;
  streams: BackendOptions["streams"];
  subscriber: boolean;
  create: (deps: { config: C; logger: Logger; backends: Backends }) => RunnableService;
}

/**
 * The one start-up sequence of every service: configuration, logger, backends, the service's
 * factory, signals. Stopping runs in reverse: the service, then the backends.
 */
export function runService<C extends ServiceBaseConfig>(definition: ServiceDefinition<C>): void {
  const main = async () => {
    const config = definition.loadConfig();
    const root = createLogger({ name: definition.name, level: config.LOG_LEVEL });
    const logger = definition.logContext ? root.child(definition.logContext(config)) : root;
    logger.info({ config: redactConfig({ ...(config as object) } as Record<string, unknown>) }, "starting");
    const backends = await connectBackends({
      service: definition.connectionName?.(config) ?? definition.name,
      natsUrl: config.NATS_URL,
      redisUrl: config.REDIS_URL,
      prefix: config.MCIC_PREFIX,
      replicas: config.STREAM_REPLICAS,
      streams: definition.streams,
      subscriber: definition.subscriber,
      logger,
    });
    const service = definition.create({ config, logger, backends });
    await service.start();
    stopOnSignals(logger, async () => {
      await service.stop();
      await backends.close();
    });
  };
  main().catch((err: unknown) => exitOnStartupError(definition.name, err));
}
