import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { collectDefaultMetrics, Registry as MetricsRegistry } from "prom-client";
import type { Logger } from "./logger.js";

export { Counter, Gauge, Histogram, Registry as MetricsRegistry } from "prom-client";

export interface OpsServerOptions {
  port: number;
  host?: string;
  /** Resolves when the service can do its work; the rejection message is shown on /readyz. */
  checkReady: () => Promise<void>;
  metrics: MetricsRegistry;
  logger: Logger;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A metrics registry with the process defaults (CPU, RSS, event loop lag) and a service label. */
export function createMetricsRegistry(service: string): MetricsRegistry {
  const registry = new MetricsRegistry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** /healthz, /readyz and /metrics of a worker service (watcher, dispatcher). */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (req.method !== "GET") {
      res.writeHead(405).end();
    } else if (path === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    } else if (path === "/readyz") {
      options.checkReady().then(
        () => res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ready"}'),
        (err: unknown) =>
          res
            .writeHead(503, { "content-type": "application/json" })
            .end(JSON.stringify({ status: "not ready", detail: (err as Error).message })),
      );
    } else if (path === "/metrics") {
      options.metrics.metrics().then(
        (text) => res.writeHead(200, { "content-type": options.metrics.contentType }).end(text),
        (err: unknown) => {
          options.logger.error({ err }, "metrics collection failed");
          res.writeHead(500).end();
        },
      );
    } else {
      res.writeHead(404).end();
    }
  });
  server.listen(options.port, options.host ?? "0.0.0.0");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
