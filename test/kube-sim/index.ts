import { once } from "node:events";
import { type Server, createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { handle } from "./http-api.js";
import { SimCluster } from "./sim-cluster.js";

export type { ResourceDef } from "./resources.js";
export { SimCluster, StatusError, type KubeObject } from "./sim-cluster.js";

export interface KubeSimOptions {
  port?: number;
  host?: string;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string; key: string };
  /** When non-empty, every request needs `Authorization: Bearer <one of them>`. */
  tokens?: string[];
  /** Watch events kept per virtual cluster for resuming; older resource versions get 410. */
  historyLimit?: number;
  bookmarkIntervalMs?: number;
  defaultResources?: boolean;
}

/**
 * A Kubernetes API server simulator: list/watch protocol for any group/version/resource, many
 * virtual clusters per process (`/clusters/<name>/...`; "default" at the root).
 */
export class KubeSim {
  readonly url: string;
  readonly port: number;
  readonly #server: Server;
  readonly #clusterFor: (name: string) => SimCluster;
  readonly #clusters: Map<string, SimCluster>;

  private constructor(
    server: Server,
    url: string,
    port: number,
    clusters: Map<string, SimCluster>,
    clusterFor: (name: string) => SimCluster,
  ) {
    this.#server = server;
    this.url = url;
    this.port = port;
    this.#clusters = clusters;
    this.#clusterFor = clusterFor;
  }

  static async start(options: KubeSimOptions = {}): Promise<KubeSim> {
    const clusters = new Map<string, SimCluster>();
    const watches = new Map<SimCluster, Set<() => void>>();
    let base = "";
    const clusterFor = (name: string) => {
      let c = clusters.get(name);
      if (!c) {
        c = new SimCluster(
          name,
          name === "default" ? base : `${base}/clusters/${name}`,
          options.historyLimit ?? 1000,
          options.defaultResources ?? true,
        );
        const open = new Set<() => void>();
        watches.set(c, open);
        c.onCloseWatches = () => {
          for (const end of [...open]) end();
        };
        clusters.set(name, c);
      }
      return c;
    };
    const api = {
      tokens: options.tokens ?? [],
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 10_000,
      cluster: clusterFor,
    };
    const listener = (req: Parameters<typeof handle>[0], res: Parameters<typeof handle>[1]) =>
      void handle(req, res, api, (c) => watches.get(c) as Set<() => void>);
    const server = options.tls
      ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
      : createServer(listener);
    server.keepAliveTimeout = 60_000;
    const host = options.host ?? "127.0.0.1";
    server.listen(options.port ?? 0, host);
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    base = `${options.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
    return new KubeSim(server, base, port, clusters, clusterFor);
  }

  /** A virtual cluster, created on first use; "default" is served at `url`. */
  cluster(name = "default"): SimCluster {
    return this.#clusterFor(name);
  }

  async stop(): Promise<void> {
    for (const c of this.#clusters.values()) c.closeWatches();
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}
