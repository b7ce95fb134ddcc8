import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { type Envelope, envelopeId } from "./envelope.js";
import { generateWebhookSecret, isWebhookSecret, signWebhook, toCloudEvent, webhookKey } from "./webhook.js";

const nowSec = () => Math.floor(Date.now() / 1000);

function signedHeaders(secret: string, id: string, body: string, timestamp = nowSec()): Record<string, string> {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signWebhook(webhookKey(secret), id, timestamp, body),
  };
}

describe("signWebhook", () => {
  const secret = generateWebhookSecret();
  const id = "c1/uid-1/42/ADDED";
  const body = JSON.stringify({ specversion: "1.0", id, data: { hello: "wörld" } });

  it("produces a signature the standardwebhooks library accepts", () => {
    const headers = signedHeaders(secret, id, body);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("matches the library's own signature byte for byte", () => {
    const ts = nowSec();
    expect(signWebhook(webhookKey(secret), id, ts, body)).toBe(new Webhook(secret).sign(id, new Date(ts * 1000), body));
  });

  it("signs with each key, space-separated, so a receiver holding either secret verifies", () => {
    const other = generateWebhookSecret();
    const ts = nowSec();
    const signature = signWebhook([webhookKey(secret), webhookKey(other)], id, ts, body);
    expect(signature.split(" ")).toEqual([
      signWebhook(webhookKey(secret), id, ts, body),
      signWebhook(webhookKey(other), id, ts, body),
    ]);
    const headers = { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(other).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
  });

  it("fails verification when the body was changed", () => {
    const headers = signedHeaders(secret, id, body);
    const tampered = body.replace("wörld", "world");
    expect(() => new Webhook(secret).verify(tampered, headers)).toThrow();
  });

  it("fails verification when the id or timestamp was changed", () => {
    const headers = signedHeaders(secret, id, body);
    expect(() => new Webhook(secret).verify(body, { ...headers, "webhook-id": "other" })).toThrow();
    const ts = Number(headers["webhook-timestamp"]) - 1;
    expect(() => new Webhook(secret).verify(body, { ...headers, "webhook-timestamp": String(ts) })).toThrow();
  });

  it("fails verification with another secret", () => {
    const headers = signedHeaders(secret, id, body);
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
  });

  it("works with a user-supplied secret of another valid length", () => {
    const custom = `whsec_${randomBytes(24).toString("base64")}`;
    expect(isWebhookSecret(custom)).toBe(true);
    expect(new Webhook(custom).verify(body, signedHeaders(custom, id, body))).toEqual(JSON.parse(body));
  });
});

describe("webhook secrets", () => {
  it("generates whsec_ + 32 random bytes that pass isWebhookSecret", () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    expect(a).toMatch(/^whsec_/);
    expect(a).not.toBe(b);
    expect(isWebhookSecret(a)).toBe(true);
    expect(webhookKey(a)).toHaveLength(32);
  });

  it("generates secrets the standardwebhooks library accepts", () => {
    const secret = generateWebhookSecret();
    expect(() => new Webhook(secret)).not.toThrow();
  });

  it.each([
    ["abc", "abc"],
    ["prefix only", "whsec_"],
    ["not base64", "whsec_!!!!"],
    ["no prefix", randomBytes(32).toString("base64")],
    ["16 bytes", `whsec_${randomBytes(16).toString("base64")}`],
    ["23 bytes", `whsec_${randomBytes(23).toString("base64")}`],
    ["65 bytes", `whsec_${randomBytes(65).toString("base64")}`],
    ["url-safe alphabet", `whsec_${"-_".repeat(20)}`],
  ])("rejects %s", (_label, text) => {
    expect(isWebhookSecret(text)).toBe(false);
  });

  it.each([24, 32, 64])("accepts %d bytes", (n) => {
    expect(isWebhookSecret(`whsec_${randomBytes(n).toString("base64")}`)).toBe(true);
  });
});

function makeEnvelope(overrides: Partial<Envelope> = {}): Envelope {
  const base: Envelope = {
    id: envelopeId("east", "uid-7", "1001", "ADDED"),
    cluster: "east",
    group: "networking.k8s.io",
    version: "v1",
    resource: "ingresses",
    kind: "Ingress",
    namespace: "shop",
    name: "front",
    uid: "uid-7",
    resourceVersion: "1001",
    type: "ADDED",
    observedAt: "2024-05-01T12:00:00.000Z",
    object: { metadata: { name: "front", namespace: "shop" }, spec: { rules: [] } },
  };
  return { ...base, ...overrides };
}

describe("toCloudEvent", () => {
  it("maps an envelope to a CloudEvents 1.0 structured event", () => {
    const envelope = makeEnvelope();
    expect(toCloudEvent(envelope, { includeSecretData: false })).toEqual({
      specversion: "1.0",
      id: "east/uid-7/1001/ADDED",
      source: "/clusters/east",
      type: "dev.mcic.ingresses.added",
      subject: "shop/front",
      time: "2024-05-01T12:00:00.000Z",
      datacontenttype: "application/json",
      data: envelope,
    });
  });

  it.each([
    ["MODIFIED", "dev.mcic.ingresses.modified"],
    ["DELETED", "dev.mcic.ingresses.deleted"],
  ] as const)("types a %s event as %s", (type, expected) => {
    expect(toCloudEvent(makeEnvelope({ type }), { includeSecretData: false }).type).toBe(expected);
  });

  it("uses the bare name as subject of a cluster-scoped object", () => {
    const { namespace: _ns, ...rest } = makeEnvelope({ group: "", resource: "nodes", kind: "Node", name: "node-1" });
    const event = toCloudEvent(rest, { includeSecretData: false });
    expect(event.subject).toBe("node-1");
    expect(event.type).toBe("dev.mcic.nodes.added");
  });

  function secretEnvelope(): Envelope {
    return makeEnvelope({
      group: "",
      resource: "secrets",
      kind: "Secret",
      name: "db",
      object: {
        metadata: { name: "db", namespace: "shop", labels: { app: "db" } },
        type: "Opaque",
        data: { password: "aHVudGVyMg==", user: "YWRtaW4=" },
        stringData: { note: "plain secret" },
      },
    });
  }

  it("replaces secret values with REDACTED and keeps their keys", () => {
    const event = toCloudEvent(secretEnvelope(), { includeSecretData: false });
    const data = event.data as Envelope;
    expect(data.object.data).toEqual({ password: "REDACTED", user: "REDACTED" });
    expect(data.object.stringData).toEqual({ note: "REDACTED" });
    expect(data.object.metadata).toEqual({ name: "db", namespace: "shop", labels: { app: "db" } });
    expect(data.object.type).toBe("Opaque");
    expect(JSON.stringify(event)).not.toContain("aHVudGVyMg==");
    expect(JSON.stringify(event)).not.toContain("plain secret");
  });

  it("redacts the last-applied annotation, which holds the values again after kubectl apply", () => {
    const envelope = secretEnvelope();
    const lastApplied = JSON.stringify({ kind: "Secret", data: { password: "aHVudGVyMg==" } });
    envelope.object.metadata = {
      name: "db",
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": lastApplied },
    };
    const hidden = toCloudEvent(envelope, { includeSecretData: false });
    expect((hidden.data as Envelope).object.metadata).toEqual({
      name: "db",
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "REDACTED" },
    });
    expect(JSON.stringify(hidden)).not.toContain("aHVudGVyMg==");
    const shown = toCloudEvent(envelope, { includeSecretData: true }).data as Envelope;
    expect(shown.object.metadata).toEqual(envelope.object.metadata);
  });

  it("leaves the original envelope untouched when redacting", () => {
    const envelope = secretEnvelope();
    const before = structuredClone(envelope);
    toCloudEvent(envelope, { includeSecretData: false });
    expect(envelope).toEqual(before);
  });

  it("includes secret values when the server asked for them", () => {
    const envelope = secretEnvelope();
    const data = toCloudEvent(envelope, { includeSecretData: true }).data as Envelope;
    expect(data.object.data).toEqual({ password: "aHVudGVyMg==", user: "YWRtaW4=" });
    expect(data.object.stringData).toEqual({ note: "plain secret" });
  });

  it("redacts only core-group secrets", () => {
    const crd = makeEnvelope({
      group: "example.com",
      resource: "secrets",
      object: { data: { visible: "yes" } },
    });
    expect((toCloudEvent(crd, { includeSecretData: false }).data as Envelope).object.data).toEqual({ visible: "yes" });
    const configMap = makeEnvelope({ group: "", resource: "configmaps", object: { data: { k: "v" } } });
    expect((toCloudEvent(configMap, { includeSecretData: false }).data as Envelope).object.data).toEqual({ k: "v" });
  });

  it("handles a secret without data", () => {
    const envelope = makeEnvelope({ group: "", resource: "secrets", object: { metadata: { name: "empty" } } });
    const data = toCloudEvent(envelope, { includeSecretData: false }).data as Envelope;
    expect(data.object).toEqual({ metadata: { name: "empty" } });
  });
});
