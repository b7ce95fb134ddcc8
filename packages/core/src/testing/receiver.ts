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
  respond: (req: ReceivedRequest) => ReceiverResponse;
  /** Parsed JSON bodies of the requests that were answered 2xx. */
  delivered(): unknown[];
  waitForCount(n: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  /** Forgets everything received so far. */
  reset(): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const accepted: unknown[] = [];
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
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    respond: () => ({ status: 204 }),
    delivered: () => accepted,
    reset: () => {
      requests.length = 0;
      accepted.length = 0;
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
