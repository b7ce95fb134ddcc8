import { randomBytes } from "node:crypto";
import {
  type Backends,
  DeadLetterSchema,
  DispatcherPresence,
  type Envelope,
  Registry,
  SecretBox,
  ServerFiltersSchema,
  type StoredServer,
  connectBackends,
  createLogger,
  envelopeId,
  eventSubject,
  redisKeys,
} from "@mcic/core";
import {
  type Receiver,
  type TestServer,
  startNats,
  startReceiver,
  startRedis,
  storedServer,
  waitFor,
} from "@mcic/core/testing";
import { jetstream } from "@nats-io/jetstream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadDispatcherConfig } from "./config.js";
import { type Dispatcher, createDispatcher } from "./dispatcher.js";

const prefix = "sc";
const keys = redisKeys(prefix);
const secretKey = randomBytes(32);
const box = new SecretBox(secretKey);
let nats: TestServer;
let redis: TestServer;
let backends: Backends;
let registry: Registry;
let presence: DispatcherPresence;
let receiver: Receiver;
let dispatcher: Dispatcher | undefined;

beforeAll(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  backends = await connectBackends({
    service: "server-changes-test",
    natsUrl: nats.url,
    redisUrl: redis.url,
    prefix,
    replicas: 1,
    streams: ["events", "deliveries"],
    subscriber: true,
    logger: createLogger({ name: "server-changes-test", level: "silent" }),
  });
  registry = new Registry({ redis: backends.redis, prefix });
  presence = new DispatcherPresence(backends.redis, keys);
});

beforeEach(async () => {
  receiver = await startReceiver();
  dispatcher = createDispatcher({
    config: loadDispatcherConfig({
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      MCIC_PREFIX: prefix,
      MCIC_SECRET_KEY: secretKey.toString("base64"),
      METRICS_PORT: "0",
      LOG_LEVEL: "silent",
    }),
    logger: createLogger({ name: "dispatcher", level: "silent" }),
    backends,
    replicaId: "solo",
  });
  await dispatcher.start();
});

afterEach(async () => {
  await dispatcher?.stop();
  await receiver?.close();
});

afterAll(async () => {
  await backends?.close();
  await Promise.all([nats?.stop(), redis?.stop()]);
});

function server(name: string, overrides: Partial<StoredServer> = {}): StoredServer {
  return {
    ...storedServer(box, name, receiver.url, { filters: ServerFiltersSchema.parse({ clusters: [name] }) }),
    ...overrides,
  };
}

/** Resolves once the dispatcher applied every registration write so far (what the API waits for). */
async function applied(): Promise<void> {
  const revision = await registry.serversRevision();
  await waitFor(async () => (await presence.lagging(revision)).length === 0, {
    intervalMs: 5,
    message: `the dispatcher to apply revision ${revision}`,
  });
}

/** Versions of one object in cluster `cluster`: one after another in the server's lane. */
async function publish(cluster: string, versions: number[]): Promise<void> {
  const js = jetstream(backends.nats);
  for (const rv of versions) {
    const e: Envelope = {
      id: envelopeId(cluster, "uid-1", String(rv), "MODIFIED"),
      cluster,
      group: "",
      version: "v1",
      resource: "configmaps",
      kind: "ConfigMap",
      namespace: "ns",
      name: "cm",
      uid: "uid-1",
      resourceVersion: String(rv),
      type: "MODIFIED",
      observedAt: new Date().toISOString(),
      object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm", namespace: "ns", uid: "uid-1" } },
    };
    await js.publish(eventSubject(prefix, e), JSON.stringify(e), { msgID: e.id });
  }
}

describe("a dispatcher and server changes", () => {
  it("reports the registration revision it applied after each change, and leaves no trace when stopped", async () => {
    await registry.createServer(server("one"));
    await applied();
    const revision = await registry.serversRevision();
    expect(await backends.redis.hget(keys.dispatchersApplied, "solo")).toBe(String(revision));
    await dispatcher?.stop();
    dispatcher = undefined;
    expect(await backends.redis.zcard(keys.dispatchers)).toBe(0);
    expect(await backends.redis.hlen(keys.dispatchersApplied)).toBe(0);
  });

  it("sends nothing queued for a server deleted meanwhile, and confirms the delete once its request in flight ended", async () => {
    receiver.respond = () => ({ status: 204, delayMs: 600 });
    await registry.createServer(server("doomed"));
    await applied();
    // The first version holds the object's place in the lane for 600 ms; the others wait behind it.
    await publish("doomed", [1, 2, 3]);
    const [first] = await receiver.waitForCount(1);
    await registry.deleteServer("doomed");
    await applied();
    const confirmedAt = Date.now();
    // Not before the request under way was answered: nothing reaches the server after the API answered.
    expect(confirmedAt - (first?.at ?? 0)).toBeGreaterThanOrEqual(590);
    await dispatcher?.stop();
    dispatcher = undefined;
    expect(receiver.requests).toHaveLength(1);
  });

  it("dead-letters what was queued for a server disabled meanwhile, instead of sending it", async () => {
    receiver.respond = () => ({ status: 204, delayMs: 400 });
    await registry.createServer(server("paused"));
    await applied();
    await publish("paused", [1, 2]);
    await receiver.waitForCount(1);
    await registry.replaceServer(server("paused", { enabled: false }));
    const letters = await waitFor(
      async () => {
        const raw = await backends.redis.lrange(keys.deadLetters("paused"), 0, -1);
        return raw.length > 0 && raw.map((r) => DeadLetterSchema.parse(JSON.parse(r)));
      },
      { message: "the queued event dead-lettered" },
    );
    expect(letters.map((l) => [l.eventId, l.error])).toEqual([
      [envelopeId("paused", "uid-1", "2", "MODIFIED"), "server is disabled"],
    ]);
    expect(receiver.requests).toHaveLength(1);
  });
});
