import { timingSafeEqual } from "node:crypto";
import { type IncomingMessage, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { signWebhook, webhookKey } from "@mcic/core";

/** Standard Webhooks' default tolerance: older (or future) timestamps are refused as replays. */
const TOLERANCE_SEC = 5 * 60;

export interface DemoReceiver {
  readonly url: string;
  readonly port: number;
  /** Verify what arrives at `path` with this signing secret (the one the API returned at registration). */
  trust(path: string, secret: string): void;
  close(): Promise<void>;
}

/** "ok", "BAD" (answered 401) or "not checked" when no secret is known for the path. */
export function verifySignature(
  key: Buffer | undefined,
  headers: IncomingMessage["headers"],
  body: string,
  nowSec = Math.floor(Date.now() / 1000),
): "ok" | "BAD" | "not checked" {
  if (!key) return "not checked";
  const id = headers["webhook-id"];
  const timestamp = Number(headers["webhook-timestamp"]);
  const signatures = String(headers["webhook-signature"] ?? "").split(" ");
  if (typeof id !== "string" || !Number.isInteger(timestamp) || Math.abs(nowSec - timestamp) > TOLERANCE_SEC)
    return "BAD";
  const expected = Buffer.from(signWebhook(key, id, timestamp, body));
  const match = signatures.some((s) => {
    const got = Buffer.from(s);
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
  return match ? "ok" : "BAD";
}

function describe(body: string): string {
  try {
    const ce = JSON.parse(body);
    const snapshot = ce.data.snapshot ? ", snapshot" : "";
    return `${String(ce.data.type).padEnd(8)} ${ce.data.kind} ${ce.subject} (cluster ${ce.data.cluster}, rv ${ce.data.resourceVersion}${snapshot})`;
  } catch {
    return body.slice(0, 200);
  }
}

/**
 * The receiver of the demo (`make run`, the compose profile "demo"): prints one line per event it
 * gets and whether its Standard Webhooks signature verifies; a bad signature is answered 401, as a
 * real receiver must.
 */
export async function startDemoReceiver(o: {
  port?: number;
  host?: string;
  write(line: string): void;
}): Promise<DemoReceiver> {
  const keys = new Map<string, Buffer>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      const path = new URL(req.url ?? "/", "http://receiver").pathname;
      const verdict = verifySignature(keys.get(path), req.headers, body);
      const note = verdict === "not checked" ? `signature not checked (no secret for ${path})` : `signature ${verdict}`;
      o.write(`${describe(body)} ${note}`);
      res.writeHead(verdict === "BAD" ? 401 : 204).end();
    });
  });
  const host = o.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    trust: (path, secret) => keys.set(path, webhookKey(secret)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
