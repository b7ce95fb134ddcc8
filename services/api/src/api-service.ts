import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type Backends,
  DispatcherPresence,
  EgressPolicy,
  type Logger,
  Registry,
  type RunnableService,
  SecretBox,
  SnapshotStatusStore,
  WebhookSender,
} from "@mcic/core";
import { createApi } from "./app.js";
import type { ApiConfig } from "./config.js";

export interface ApiServiceDeps {
  config: ApiConfig;
  logger: Logger;
  /** Connected, the deliveries stream in place; the API never closes them (its caller does, after stop). */
  backends: Pick<Backends, "redis" | "nats" | "checkReady">;
}

export interface ApiService extends RunnableService {
  /** The port it listens on, once started (API_PORT 0 picks a free one). */
  readonly port: number | undefined;
}

/** The API bound to its configured address: what `main.ts` runs and stops. */
export function createApiService(deps: ApiServiceDeps): ApiService {
  const { config, logger } = deps;
  const { redis, nats, checkReady } = deps.backends;
  if (config.API_TOKENS.length === 0) {
    logger.warn({ host: config.API_HOST }, "API_TOKENS is empty: the API is open, on loopback only");
  }
  // One policy for what registrations may name and for where test pings may go.
  const egress = EgressPolicy.fromConfig(config);
  const sender = new WebhookSender({ timeoutMs: config.DISPATCH_TIMEOUT_MS, egress });
  const registry = new Registry({ redis, prefix: config.MCIC_PREFIX });
  const api = createApi({
    registry,
    presence: new DispatcherPresence(redis, registry.keys),
    box: new SecretBox(config.MCIC_SECRET_KEY, config.MCIC_SECRET_KEY_PREVIOUS),
    logger,
    tokens: config.API_TOKENS,
    prefix: config.MCIC_PREFIX,
    nats,
    sender,
    egress,
    checkReady,
    snapshots: new SnapshotStatusStore(redis, registry.keys),
  });
  let server: Server | undefined;
  let port: number | undefined;
  return {
    get port() {
      return port;
    },
    async start() {
      server = api.app.listen(config.API_PORT, config.API_HOST);
      await once(server, "listening");
      port = (server.address() as AddressInfo).port;
      logger.info({ url: `http://${config.API_HOST}:${port}`, port }, "listening");
    },
    async stop() {
      const listening = server;
      if (listening) {
        await new Promise<void>((resolve) => {
          listening.close(() => resolve());
          listening.closeIdleConnections();
        });
      }
      await api.settled();
      await sender.close();
    },
  };
}
