import { randomBytes } from "node:crypto";
import {
  type Backends,
  DeadLetterSchema,
  DeliveryRecordSchema,
  type Envelope,
  Registry,
  SecretBox,
  connectBackends,
  createLogger,
  envelopeId,
  eventSubject,
  eventsStreamName,
  generateWebhookSecret,
  redisKeys,
  sealContext,
  sealSecretValues,
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
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDispatcherConfig } from "./config.js";
import { createDispatcher } from "./dispatcher.js";

const prefix = "dt";
const keys = redisKeys(prefix);
const secretKey = randomBytes(32);
let nats: TestServer;
let redis: TestServer;
let backends: Backends;
let receiver: Receiver;

beforeAll(async () => {
  [nats, redis, receiver] = await Promise.all([startNats(), startRedis(), startReceiver()]);
  backends = await connectBackends({
    service: "dispatcher-test",
    natsUrl: nats.url,
    redisUrl: redis.url,
    prefix,
    replicas: 1,
    streams: ["events", "deliveries"],
    subscriber: true,
    logger: createLogger({ name: "dispatcher-test", level: "silent" }),
  });
});

afterAll(async () => {
  await backends?.close();
  await Promise.all([receiver?.close(), nats?.stop(), redis?.stop()]);
});

function envelope(name: string, rv: number): Envelope {
  const uid = `uid-${name}`;
  return {
    id: envelopeId("c1", uid, String(rv), "MODIFIED"),
    cluster: "c1",
    group: "",
    version: "v1",
    resource: "configmaps",
    kind: "ConfigMap",
    namespace: "ns",
    name,
    uid,
    resourceVersion: String(rv),
    type: "MODIFIED",
    observedAt: new Date().toISOString(),
    object: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: "ns", uid, resourceVersion: String(rv) },
    },
  };
}

describe("createDispatcher", () => {
  it("runs in-process: delivers a signed event to a registered server, reports ready, stops cleanly", async () => {
    const secret = generateWebhookSecret();
    const box = new SecretBox(secretKey);
    await new Registry({ redis: backends.redis, prefix }).createServer(
      storedServer(box, "rx", receiver.url, { secret }),
    );
    const config = loadDispatcherConfig({
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      MCIC_PREFIX: prefix,
      MCIC_SECRET_KEY: secretKey.toString("base64"),
      METRICS_PORT: "0",
      LOG_LEVEL: "silent",
    });
    const dispatcher = createDispatcher({
      config,
      logger: createLogger({ name: "dispatcher", level: "silent" }),
      backends,
      replicaId: "in-process",
    });
    await dispatcher.start();
    try {
      const ready = await fetch(`http://127.0.0.1:${dispatcher.opsPort}/readyz`);
      expect(ready.status).toBe(200);
      expect(await backends.redis.zrange(keys.dispatchers, 0, -1)).toEqual(["in-process"]);

      const event = envelope("settings", 7);
      await jetstream(backends.nats).publish(eventSubject(prefix, event), JSON.stringify(event), { msgID: event.id });
      const [request] = await receiver.waitForCount(1);
      const cloudEvent = new Webhook(secret).verify(request?.body ?? "", {
        "webhook-id": String(request?.headers["webhook-id"]),
        "webhook-timestamp": String(request?.headers["webhook-timestamp"]),
        "webhook-signature": String(request?.headers["webhook-signature"]),
      }) as { id: string; data: { object: { metadata: { name: string } } } };
      expect(cloudEvent.id).toBe(event.id);
      expect(cloudEvent.data.object.metadata.name).toBe("settings");

      const records = await waitFor(
        async () => {
          const raw = await backends.redis.lrange(keys.deliveries("rx"), 0, -1);
          return raw.length > 0 && raw.map((r) => DeliveryRecordSchema.parse(JSON.parse(r)));
        },
        { message: "the delivery recorded" },
      );
      expect(records).toMatchObject([{ eventId: event.id, outcome: "delivered", status: 204, attempt: 1 }]);
    } finally {
      await dispatcher.stop();
    }

    // Stopped: the event was acked (nothing comes back), the replica left the heartbeat set, and
    // the ops server is closed.
    const jsm = await jetstreamManager(backends.nats);
    const consumer = await waitFor(
      async () => {
        const info = await jsm.consumers.info(eventsStreamName(prefix), `${eventsStreamName(prefix)}_dispatch`);
        return info.num_ack_pending === 0 && info;
      },
      { message: "the event acked" },
    );
    expect(consumer.num_redelivered).toBe(0);
    expect(await backends.redis.zcard(keys.dispatchers)).toBe(0);
    await expect(fetch(`http://127.0.0.1:${dispatcher.opsPort}/healthz`)).rejects.toThrow();
    expect(receiver.requests).toHaveLength(1);
  });

  it("signs with the old secret too during a rotation's overlap, and stops once it expires, without a reload", async () => {
    const fresh = generateWebhookSecret();
    const old = generateWebhookSecret();
    const box = new SecretBox(secretKey);
    const rotated = await startReceiver();
    // Long enough for the first delivery, short enough that the 30 s reload cannot be what ends it.
    const expiresAt = Date.now() + 3000;
    await new Registry({ redis: backends.redis, prefix }).createServer(
      storedServer(box, "rot", rotated.url, {
        secret: fresh,
        previousSecret: box.seal(old, sealContext.serverPreviousSecret("rot")),
        previousExpiresAt: new Date(expiresAt).toISOString(),
      }),
    );
    const dispatcher = createDispatcher({
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
      replicaId: "rotation",
    });
    const verifying = (request: Receiver["requests"][number] | undefined) =>
      [fresh, old].filter((secret) => {
        try {
          new Webhook(secret).verify(request?.body ?? "", {
            "webhook-id": String(request?.headers["webhook-id"]),
            "webhook-timestamp": String(request?.headers["webhook-timestamp"]),
            "webhook-signature": String(request?.headers["webhook-signature"]),
          });
          return true;
        } catch {
          return false;
        }
      });
    await dispatcher.start();
    try {
      const first = envelope("during-overlap", 1);
      await jetstream(backends.nats).publish(eventSubject(prefix, first), JSON.stringify(first), { msgID: first.id });
      const [during] = await rotated.waitForCount(1);
      expect(verifying(during)).toEqual([fresh, old]);

      await waitFor(() => Date.now() > expiresAt, { timeoutMs: 5000, message: "the overlap to end" });
      const second = envelope("after-overlap", 1);
      await jetstream(backends.nats).publish(eventSubject(prefix, second), JSON.stringify(second), {
        msgID: second.id,
      });
      const after = (await rotated.waitForCount(2))[1];
      expect(verifying(after)).toEqual([fresh]);
    } finally {
      await dispatcher.stop();
      await rotated.close();
    }
  });

  it("opens sealed Secret values only for a server with includeSecretData, and dead-letters what it cannot open", async () => {
    const box = new SecretBox(secretKey);
    const password = Buffer.from("hunter2").toString("base64");
    const secretEvent = (rv: number): Envelope => ({
      ...envelope("db", rv),
      resource: "secrets",
      kind: "Secret",
      object: { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "ns" }, data: { password } },
    });
    const opted = await startReceiver();
    await new Registry({ redis: backends.redis, prefix }).createServer(
      storedServer(box, "opted", opted.url, { includeSecretData: true }),
    );
    receiver.reset();
    const dispatcher = createDispatcher({
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
      replicaId: "in-process",
    });
    await dispatcher.start();
    try {
      const sealed = sealSecretValues(secretEvent(8), box);
      // Sealed under another MCIC_SECRET_KEY: this dispatcher cannot open it.
      const foreign = sealSecretValues(secretEvent(9), new SecretBox(randomBytes(32)));
      for (const e of [sealed, foreign]) {
        await jetstream(backends.nats).publish(eventSubject(prefix, e), JSON.stringify(e), { msgID: e.id });
      }
      const [full] = await opted.waitForCount(1);
      const fullEvent = JSON.parse(full?.body ?? "") as { data: Envelope };
      expect(fullEvent.data.object.data).toEqual({ password });
      expect(fullEvent.data).not.toHaveProperty("sealedSecretValues");

      const plain = await receiver.waitForCount(2);
      for (const r of plain) {
        expect((JSON.parse(r.body) as { data: Envelope }).data.object.data).toEqual({ password: "REDACTED" });
        expect(r.body).not.toContain("sealedSecretValues");
      }

      const [letter] = await waitFor(
        async () => {
          const raw = await backends.redis.lrange(keys.deadLetters("opted"), 0, -1);
          return raw.length > 0 && raw.map((r) => DeadLetterSchema.parse(JSON.parse(r)));
        },
        { message: "the unopenable event dead-lettered" },
      );
      expect(letter?.eventId).toBe(foreign.id);
      expect(letter?.error).toMatch(/cannot open the sealed Secret values .*wrong MCIC_SECRET_KEY/);
      // Stored as it came: still sealed, no value in clear.
      expect(letter?.envelope).toEqual(foreign);
      expect(opted.requests).toHaveLength(1);
    } finally {
      await dispatcher.stop();
      await opted.close();
    }
  });
});
