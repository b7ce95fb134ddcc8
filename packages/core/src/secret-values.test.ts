import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type Envelope, envelopeId } from "./envelope.js";
import { SecretBox } from "./secret-box.js";
import {
  LAST_APPLIED_ANNOTATION,
  SealedSecretValuesError,
  openSecretValues,
  redactEnvelope,
  sealSecretValues,
} from "./secret-values.js";
import { toCloudEvent } from "./webhook.js";

const PASSWORD_B64 = Buffer.from("hunter2").toString("base64");
const LAST_APPLIED = JSON.stringify({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "db", namespace: "shop" },
  data: { password: PASSWORD_B64 },
  stringData: { note: "plain secret" },
});

function secretEnvelope(overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: envelopeId("east", "uid-9", "12", "MODIFIED"),
    cluster: "east",
    group: "",
    version: "v1",
    resource: "secrets",
    kind: "Secret",
    namespace: "shop",
    name: "db",
    uid: "uid-9",
    resourceVersion: "12",
    type: "MODIFIED",
    observedAt: "2026-12-01T00:00:00.000Z",
    object: {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "db",
        namespace: "shop",
        labels: { app: "db" },
        annotations: { [LAST_APPLIED_ANNOTATION]: LAST_APPLIED, team: "payments" },
      },
      type: "Opaque",
      data: { password: PASSWORD_B64 },
      stringData: { note: "plain secret" },
    },
    ...overrides,
  };
}

/** True when the text shows any of the secret's values, in clear or as the base64 `data` holds them. */
function revealsValues(text: string): boolean {
  return ["hunter2", PASSWORD_B64, "plain secret"].some((v) => text.includes(v));
}

const box = new SecretBox(randomBytes(32));

describe("redactEnvelope", () => {
  it("replaces data, stringData and the last-applied annotation with REDACTED, keeping keys and other fields", () => {
    const redacted = redactEnvelope(secretEnvelope(), { includeSecretData: false });
    expect(redacted.object).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "db",
        namespace: "shop",
        labels: { app: "db" },
        annotations: { [LAST_APPLIED_ANNOTATION]: "REDACTED", team: "payments" },
      },
      type: "Opaque",
      data: { password: "REDACTED" },
      stringData: { note: "REDACTED" },
    });
    expect(revealsValues(JSON.stringify(redacted))).toBe(false);
  });

  it("leaves the envelope it was given untouched", () => {
    const envelope = secretEnvelope();
    const before = structuredClone(envelope);
    redactEnvelope(envelope, { includeSecretData: false });
    expect(envelope).toEqual(before);
  });

  it("returns the same envelope for a server with includeSecretData or for another resource", () => {
    const envelope = secretEnvelope();
    expect(redactEnvelope(envelope, { includeSecretData: true })).toBe(envelope);
    const configMap = secretEnvelope({ resource: "configmaps", kind: "ConfigMap" });
    expect(redactEnvelope(configMap, { includeSecretData: false })).toBe(configMap);
  });

  it("never shows the sealed blob, whatever the server asked for", () => {
    const sealed = sealSecretValues(secretEnvelope(), box);
    for (const includeSecretData of [false, true]) {
      const shown = redactEnvelope(sealed, { includeSecretData });
      expect(shown).not.toHaveProperty("sealedSecretValues");
      expect(shown.object.data).toEqual({ password: "REDACTED" });
    }
  });
});

describe("sealSecretValues and openSecretValues", () => {
  it("seals every value out of the object and opens them back exactly", () => {
    const envelope = secretEnvelope();
    const sealed = sealSecretValues(envelope, box);
    expect(sealed.sealedSecretValues).toMatch(/^v2:/);
    expect(revealsValues(JSON.stringify(sealed))).toBe(false);
    expect(sealed.object).toEqual(redactEnvelope(envelope, { includeSecretData: false }).object);
    expect(openSecretValues(sealed, box)).toEqual(envelope);
  });

  it("survives a trip through JSON, as the envelope travels through JetStream and Redis", () => {
    const envelope = secretEnvelope();
    const stored = JSON.parse(JSON.stringify(sealSecretValues(envelope, box))) as Envelope;
    expect(openSecretValues(stored, box)).toEqual(envelope);
  });

  it("leaves other resources, Secrets without values and already sealed envelopes as they are", () => {
    const ingress = secretEnvelope({ group: "networking.k8s.io", resource: "ingresses", kind: "Ingress" });
    expect(sealSecretValues(ingress, box)).toBe(ingress);
    const empty = secretEnvelope({ object: { metadata: { name: "db", namespace: "shop" } } });
    expect(sealSecretValues(empty, box)).toBe(empty);
    const sealed = sealSecretValues(secretEnvelope(), box);
    expect(sealSecretValues(sealed, box)).toBe(sealed);
    expect(openSecretValues(ingress, box)).toBe(ingress);
  });

  it("refuses with a clear error under another key", () => {
    const sealed = sealSecretValues(secretEnvelope(), box);
    const other = new SecretBox(randomBytes(32));
    expect(() => openSecretValues(sealed, other)).toThrow(SealedSecretValuesError);
    expect(() => openSecretValues(sealed, other)).toThrow(/wrong MCIC_SECRET_KEY/);
  });

  it("refuses a blob copied into another event", () => {
    const sealed = sealSecretValues(secretEnvelope(), box);
    const otherId = envelopeId("east", "uid-10", "13", "MODIFIED");
    const copied = { ...secretEnvelope({ id: otherId }), sealedSecretValues: sealed.sealedSecretValues };
    expect(() => openSecretValues(copied, box)).toThrow(SealedSecretValuesError);
  });

  it("still opens values sealed with the previous key during a key rotation", () => {
    const previousKey = randomBytes(32);
    const envelope = secretEnvelope();
    const sealed = sealSecretValues(envelope, new SecretBox(previousKey));
    expect(openSecretValues(sealed, new SecretBox(randomBytes(32), previousKey))).toEqual(envelope);
  });
});

describe("toCloudEvent with sealed Secret values", () => {
  it("sends REDACTED values and no blob to a plain server, the opened values to an opted-in one", () => {
    const envelope = secretEnvelope();
    const sealed = sealSecretValues(envelope, box);
    const plain = JSON.stringify(toCloudEvent(sealed, { includeSecretData: false }));
    expect(revealsValues(plain)).toBe(false);
    expect(plain).not.toContain("sealedSecretValues");
    const opened = toCloudEvent(openSecretValues(sealed, box), { includeSecretData: true });
    expect(opened.data).toEqual(envelope);
  });
});
