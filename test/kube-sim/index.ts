import { type Server, createServer } from "node:http";
import { type Http2SecureServer, createSecureServer as createHttp2Server } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { createHttpApi } from "./http-api.js";
import { SimCluster } from "./sim-cluster.js";

export type { KubeObject } from "./kube-object.js";
export type { EventType } from "./history.js";
export type { ResourceDef } from "./resources.js";
export { SimCluster } from "./sim-cluster.js";
export { StatusError } from "./status-error.js";

export interface KubeSimOptions {
  /** Default 0: a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string; key: string };
  /**
   * With `tls`: offer HTTP/2 by ALPN as API servers do (HTTP/1.1 still answered), so a client can
   * carry every watch of a cluster on one connection.
   */
  http2?: boolean;
  /** When non-empty, every request needs `Authorization: Bearer <one of them>`, else 401. */
  tokens?: string[];
  /** Changes kept per virtual cluster for resuming (default 1000); older resourceVersions get 410 Expired. */
  historyLimit?: number;
  /** BOOKMARK period of watches with allowWatchBookmarks=true (default 10 s). */
  bookmarkIntervalMs?: number;
  /** Serve the built-in resources (ingresses, services, namespaces, …) in every cluster (default true). */
  defaultResources?: boolean;
}

/**
 * A Kubernetes API server simulator: the list/watch protocol for any group/version/resource, for
 * many virtual clusters in one process. "default" is served at `url`, any other cluster at
 * `${url}/clusters/<name>` once `cluster(name)` has created it.
 */
export class KubeSim {
  readonly url: string;
  readonly port: number;
  readonly #server: Server | Http2SecureServer;
  readonly #options: KubeSimOptions;
  readonly #clusters = new Map<string, SimCluster>();
  // Raw sockets, including TLS ones still in their handshake, which closeAllConnections does not
  // know of: one of those kept stop() waiting until the client gave up.
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server | Http2SecureServer, url: string, options: KubeSimOptions) {
    this.#server = server;
    server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
    this.url = url;
    this.port = (server.address() as AddressInfo).port;
    this.#options = options;
    this.cluster("default");
  }

  static async start(options: KubeSimOptions = {}): Promise<KubeSim> {
    let sim: KubeSim | undefined;
    const listener = createHttpApi({
      tokens: options.tokens ?? [],
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 10_000,
      findCluster: (name) => (sim ? sim.#clusters.get(name) : undefined),
    });
    let server: Server | Http2SecureServer;
    if (options.tls && options.http2) {
      // The compatibility API hands the listener request and response objects like node:http's.
      server = createHttp2Server({ ...options.tls, allowHTTP1: true }, listener as never);
    } else {
      const http1 = options.tls ? createHttpsServer({ ...options.tls }, listener) : createServer(listener);
      // Clients keep connections between list and watch calls; do not make them reconnect.
      http1.keepAliveTimeout = 60_000;
      server = http1;
    }
    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const url = `${options.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
    sim = new KubeSim(server, url, options);
    return sim;
  }

  /** A virtual cluster, created on first use. */
  cluster(name = "default"): SimCluster {
    let c = this.#clusters.get(name);
    if (!c) {
      const url = name === "default" ? this.url : `${this.url}/clusters/${encodeURIComponent(name)}`;
      c = new SimCluster(name, url, {
        historyLimit: this.#options.historyLimit ?? 1000,
        builtIns: this.#options.defaultResources ?? true,
      });
      this.#clusters.set(name, c);
    }
    return c;
  }

  /** Client connections open now (one per TCP connection, however many requests it carries). */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** Ends every watch and connection, then closes the server. */
  async stop(): Promise<void> {
    for (const c of this.#clusters.values()) c.closeWatches({ graceful: true });
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if ("closeAllConnections" in this.#server) this.#server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
