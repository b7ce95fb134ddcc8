import { type Receiver, startReceiver } from "./testing/index.js";
import type { Envelope } from "./envelope.js";
import { generateWebhookSecret, toCloudEvent, webhookKey } from "./webhook.js";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WebhookTarget, WebhookSender, parseRetryAfter } from "./webhook-sender.js";
import { EgressPolicy } from "./egress-policy.js";

const envelope: Envelope = {
  id: "c1/u1/5/ADDED",
  cluster: "c1",
  group: "",
  version: "v1",
  resource: "secrets",
  kind: "Secret",
  namespace: "ns",
  name: "db",
  uid: "u1",
  resourceVersion: "5",
  type: "ADDED",
  observedAt: "2026-01-01T00:00:00.000Z",
  object: { metadata: { name: "db" }, data: { password: "c2VjcmV0" } },
};

describe("WebhookSender", () => {
  let receiver: Receiver;
  const secret = generateWebhookSecret();
  let target: WebhookTarget;
  const cloudEvent = () => toCloudEvent(envelope, { includeSecretData: false });
  const sender = new WebhookSender({ timeoutMs: 300 });

  beforeAll(async () => {
    receiver = await startReceiver();
    target = { url: `${receiver.url}?x=1`, key: webhookKey(secret), headers: { "x-api-key": "k" } };
  });
  afterAll(async () => {
    await sender.close();
    await receiver.close();
  });

  it("POSTs a signed CloudEvent with the server's headers and Secret data redacted", async () => {
    const result = await sender.send(target, cloudEvent());
    expect(result).toMatchObject({ ok: true, status: 204 });
    const req = receiver.requests.at(-1);
    expect(req?.path).toBe("/hook?x=1");
    expect(req?.headers["x-api-key"]).toBe("k");
    const event = new Webhook(secret).verify(req?.body ?? "", {
      "webhook-id": String(req?.headers["webhook-id"]),
      "webhook-timestamp": String(req?.headers["webhook-timestamp"]),
      "webhook-signature": String(req?.headers["webhook-signature"]),
    }) as { id: string; data: { object: { data: Record<string, string> } } };
    expect(event.id).toBe(envelope.id);
    expect(event.data.object.data).toEqual({ password: "REDACTED" });
  });

  it("reports status and Retry-After of a refusal, and a timeout as status 0", async () => {
    receiver.respond = () => ({ status: 429, headers: { "retry-after": "7" } });
    expect(await sender.send(target, cloudEvent())).toMatchObject({ ok: false, status: 429, retryAfterMs: 7000 });
    receiver.respond = () => ({ status: 204, delayMs: 1000 });
    const slow = await sender.send(target, cloudEvent());
    expect(slow).toMatchObject({ ok: false, status: 0, error: "timed out after 300 ms", errorClass: "timeout" });
    receiver.respond = () => ({ status: 204 });
  });

  it("does not reach an address the egress policy denies, and says so distinctly", async () => {
    const strict = new WebhookSender({ timeoutMs: 300, egress: new EgressPolicy({ deny: ["127.0.0.0/8"] }) });
    const before = receiver.requests.length;
    try {
      for (const url of [target.url, target.url.replace("127.0.0.1", "localhost")]) {
        const result = await strict.send({ ...target, url }, cloudEvent());
        expect(result).toMatchObject({ ok: false, status: 0, errorCode: "egress_denied", errorClass: "egress denied" });
        expect(result.error).toMatch(/^egress denied: .*is in the denied range 127\.0\.0\.0\/8$/);
      }
    } finally {
      await strict.close();
    }
    expect(receiver.requests.length).toBe(before);
    // The default policy leaves loopback alone: the receiver above is reached by `sender`.
    expect((await sender.send(target, cloudEvent())).errorCode).toBeUndefined();
  });

  it("signs with the previous key too until it expires, judged at send time", async () => {
    const oldSecret = generateWebhookSecret();
    let now = Date.now();
    const clocked = new WebhookSender({ timeoutMs: 2000, now: () => now });
    const rotating: WebhookTarget = { ...target, previous: { key: webhookKey(oldSecret), expiresAt: now + 1000 } };
    const verifies = (s: string) => {
      const req = receiver.requests.at(-1);
      try {
        new Webhook(s).verify(req?.body ?? "", {
          "webhook-id": String(req?.headers["webhook-id"]),
          "webhook-timestamp": String(req?.headers["webhook-timestamp"]),
          "webhook-signature": String(req?.headers["webhook-signature"]),
        });
        return true;
      } catch {
        return false;
      }
    };
    try {
      expect((await clocked.send(rotating, cloudEvent())).ok).toBe(true);
      expect(String(receiver.requests.at(-1)?.headers["webhook-signature"]).split(" ")).toHaveLength(2);
      expect([verifies(secret), verifies(oldSecret)]).toEqual([true, true]);
      // The same target object, a moment past the expiry: only the new secret signs.
      now += 1000;
      expect((await clocked.send(rotating, cloudEvent())).ok).toBe(true);
      expect(String(receiver.requests.at(-1)?.headers["webhook-signature"]).split(" ")).toHaveLength(1);
      expect([verifies(secret), verifies(oldSecret)]).toEqual([true, false]);
    } finally {
      await clocked.close();
    }
  });

  it("classes a refused connection in fixed words beside the socket's message", async () => {
    const result = await sender.send({ ...target, url: "http://127.0.0.1:9/" }, cloudEvent());
    expect(result).toMatchObject({ ok: false, status: 0, errorClass: "connection refused" });
    expect(result.error).toMatch(/ECONNREFUSED/);
  });

  it("parses Retry-After in seconds and as a date", () => {
    expect(parseRetryAfter("3", 0)).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter("soon", 0)).toBeUndefined();
  });
});
