import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { waitFor } from "./wait-for.js";

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface ReceiverResponse {
  status: number;
  headers?: Record<string, string>;
  /** Milliseconds to wait before answering (a slow server). */
  delayMs?: number;
}

/** A real HTTP server that records what it is sent; `respond` decides each answer. */
export interface Receiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** TCP connections accepted so far: 0 proves nothing reached it, not even a request that failed. */
  readonly connections: number;
  respond: (req: ReceivedRequest) => ReceiverResponse;
  /** Parsed JSON bodies of the requests that were answered 2xx. */
  delivered(): unknown[];
  waitForCount(n: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  /** Forgets everything received so far. */
  reset(): void;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** Address to listen on (default 127.0.0.1); any 127.x.y.z is loopback on Linux. */
  host?: string;
  /** Port to listen on (default: a free one); a fault test reopens a closed receiver on its old port. */
  port?: number;
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const host = options.host ?? "127.0.0.1";
  const requests: ReceivedRequest[] = [];
  const accepted: unknown[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const entry: ReceivedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      requests.push(entry);
      const answer = receiver.respond(entry);
      const send = () => {
        if (answer.status >= 200 && answer.status < 300) {
          try {
            accepted.push(JSON.parse(entry.body));
          } catch {
            accepted.push(entry.body);
          }
        }
        res.writeHead(answer.status, answer.headers).end();
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  server.on("connection", () => connections++);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(options.port ?? 0, host, r));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/hook`,
    requests,
    get connections() {
      return connections;
    },
    respond: () => ({ status: 204 }),
    delivered: () => accepted,
    reset: () => {
      requests.length = 0;
      accepted.length = 0;
      connections = 0;
    },
    waitForCount: (n, timeoutMs = 10_000) =>
      waitFor(() => requests.length >= n && requests, {
        timeoutMs,
        message: `${n} requests at ${receiver.url} (got ${requests.length})`,
      }),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return receiver;
}
