import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import {
  DispatcherPresence,
  type EgressPolicy,
  type NatsConnection,
  Redis,
  Registry,
  SecretBox,
  SnapshotStatusStore,
  WebhookSender,
  connectNats,
  createLogger,
  ensureDeliveriesStream,
} from "@mcic/core";
import { TEST_CA_PEM, startNats, startRedis } from "@mcic/core/testing";
import { type Api, createApi } from "./app.js";

/** A test kubeconfig whose token, CA and client key must never show up in a response or a log. */
export const KUBE_TOKEN = "sekret-kube-token";
// A stand-in, not a key: PEM framing around a marker the leak tests look for. Assembled so that no
// real-looking private key block sits in the source.
const PEM = "PRIVATE KEY";
export const CLIENT_KEY = `-----BEGIN ${PEM}-----\nsekret-client-key\n-----END ${PEM}-----\n`;
export const KUBECONFIG = `
apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: c, user: u}
- name: certs
  context: {cluster: c, user: cert-user}
clusters:
- name: c
  cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: ${Buffer.from(TEST_CA_PEM).toString("base64")}}
users:
- name: u
  user: {token: ${KUBE_TOKEN}}
- name: cert-user
  user:
    client-certificate-data: ${Buffer.from("CERT").toString("base64")}
    client-key-data: ${Buffer.from(CLIENT_KEY).toString("base64")}
`;

export interface Reply {
  status: number;
  type: string;
  text: string;
  body: any;
  headers: Headers;
}

export interface Harness {
  readonly base: string;
  readonly redis: Redis;
  /** The registry the API writes through (tests may wrap its methods to inject faults). */
  readonly registry: Registry;
  readonly nats: NatsConnection;
  readonly api: Api;
  readonly prefix: string;
  readonly token: string;
  /** Every log line the API wrote. */
  readonly logLines: string[];
  /** Every response body text received through `call`. */
  readonly responses: string[];
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** DUMP of every Redis key, sorted by key: equal snapshots mean nothing changed. */
  snapshot(): Promise<[string, Buffer | null][]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  tokens?: string[];
  snapshotWaitMs?: number;
  /** How long a resync waits for its clusters' outcomes (default 1 s). */
  snapshotOutcomeWaitMs?: number;
  /** Start without creating the deliveries stream (to see replay fail cleanly). */
  noStream?: boolean;
  /** The egress policy of the API and its test pings (default: SPEC's). */
  egress?: EgressPolicy;
  /** How long a server change waits for dispatchers (default: the API's). */
  dispatcherSyncTimeoutMs?: number;
}

/** Real redis-server and nats-server, the API on a random loopback port. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
  const redis = new Redis(redisServer.url);
  const nats = await connectNats(natsServer.url, "api-test");
  const prefix = "t";
  if (!options.noStream) await ensureDeliveriesStream(nats, { prefix, replicas: 1 });
  const logLines: string[] = [];
  const responses: string[] = [];
  const logger = createLogger({
    name: "api",
    level: "trace",
    destination: new Writable({
      write(chunk, _enc, cb) {
        logLines.push(chunk.toString());
        cb();
      },
    }),
  });
  const tokens = options.tokens ?? ["t0ken-for-tests"];
  const sender = new WebhookSender({ timeoutMs: 2000, ...(options.egress ? { egress: options.egress } : {}) });
  const registry = new Registry({ redis, prefix });
  const api = createApi({
    registry,
    presence: new DispatcherPresence(redis, registry.keys),
    ...(options.dispatcherSyncTimeoutMs !== undefined
      ? { dispatcherSyncTimeoutMs: options.dispatcherSyncTimeoutMs }
      : {}),
    box: new SecretBox(randomBytes(32)),
    logger,
    tokens,
    prefix,
    nats,
    sender,
    ...(options.egress ? { egress: options.egress } : {}),
    snapshotWaitMs: options.snapshotWaitMs ?? 300,
    snapshots: new SnapshotStatusStore(redis, registry.keys),
    snapshotOutcomeWaitMs: options.snapshotOutcomeWaitMs ?? 1000,
    checkReady: async () => {
      await redis.ping();
      await nats.flush();
    },
  });
  const server = api.app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = tokens[0] ?? "";

  return {
    base,
    redis,
    registry,
    nats,
    api,
    prefix,
    token,
    logLines,
    responses,
    call: async (method, path, body, headers = {}) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await res.text();
      responses.push(text);
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      return {
        status: res.status,
        type: res.headers.get("content-type") ?? "",
        text,
        body: parsed,
        headers: res.headers,
      };
    },
    snapshot: async () => {
      const keys = (await redis.keys("*")).sort();
      return Promise.all(keys.map(async (k): Promise<[string, Buffer | null]> => [k, await redis.dumpBuffer(k)]));
    },
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await api.settled();
      await sender.close();
      await nats.close();
      redis.disconnect();
      await Promise.all([redisServer.stop(), natsServer.stop()]);
    },
  };
}
