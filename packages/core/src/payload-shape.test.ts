import { describe, expect, it } from "vitest";
import { type Envelope, envelopeId } from "./envelope.js";
import { payloadShapeKey, shapeEnvelope } from "./payload-shape.js";
import { toCloudEvent } from "./webhook.js";

const managedFields = [{ manager: "kubectl", operation: "Apply", fieldsV1: { "f:spec": {} } }];

function envelope(object: Record<string, unknown>, overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: envelopeId("east", "u1", "7", "MODIFIED"),
    cluster: "east",
    group: "networking.k8s.io",
    version: "v1",
    resource: "ingresses",
    kind: "Ingress",
    namespace: "shop",
    name: "web",
    uid: "u1",
    resourceVersion: "7",
    type: "MODIFIED",
    observedAt: "2026-12-01T00:00:00.000Z",
    object,
    changedPaths: ["spec"],
    ...overrides,
  };
}

const ingress = {
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name: "web", namespace: "shop", uid: "u1", labels: { app: "web" }, managedFields },
  spec: { rules: [{ host: "web.example.com" }] },
  status: { loadBalancer: {} },
};

describe("shapeEnvelope", () => {
  it("drops managedFields by default and keeps everything else, without touching the original", () => {
    const e = envelope(structuredClone(ingress));
    const before = structuredClone(e);
    const shaped = shapeEnvelope(e, {});
    const { managedFields: _m, ...metadata } = ingress.metadata;
    expect(shaped).toEqual({ ...before, object: { ...ingress, metadata } });
    expect(Object.keys(shaped.object)).toEqual(["apiVersion", "kind", "metadata", "spec", "status"]);
    expect(e).toEqual(before);
  });

  it("keeps managedFields when asked, returning the envelope itself when nothing changes", () => {
    const e = envelope(structuredClone(ingress));
    expect(shapeEnvelope(e, { includeManagedFields: true })).toBe(e);
    const { managedFields: _m, ...metadata } = ingress.metadata;
    const plain = envelope({ ...ingress, metadata });
    expect(shapeEnvelope(plain, { payload: "full" })).toBe(plain);
  });

  it("reduces the object to apiVersion, kind and metadata for a metadata payload", () => {
    const e = envelope(structuredClone(ingress));
    const { managedFields: _m, ...metadata } = ingress.metadata;
    expect(shapeEnvelope(e, { payload: "metadata" }).object).toEqual({
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata,
    });
    expect(shapeEnvelope(e, { payload: "metadata", includeManagedFields: true }).object).toEqual({
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: ingress.metadata,
    });
    // The envelope's own fields stay: a receiver still learns what changed.
    expect(shapeEnvelope(e, { payload: "metadata" }).changedPaths).toEqual(["spec"]);
  });

  it("keeps a Secret's values and last-applied annotation REDACTED in a metadata payload", () => {
    const lastApplied = JSON.stringify({ data: { password: "aHVudGVyMg==" } });
    const secret = envelope(
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "db", annotations: { "kubectl.kubernetes.io/last-applied-configuration": lastApplied } },
        data: { password: "aHVudGVyMg==" },
      },
      { group: "", version: "v1", resource: "secrets", kind: "Secret" },
    );
    const event = toCloudEvent(secret, { includeSecretData: false, payload: "metadata" });
    expect((event.data as Envelope).object).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", annotations: { "kubectl.kubernetes.io/last-applied-configuration": "REDACTED" } },
    });
    expect(JSON.stringify(event)).not.toContain("aHVudGVyMg==");
  });

  it("names each distinct body once: equal shapes share a key, any difference gives another", () => {
    const keys = [
      payloadShapeKey({ includeSecretData: false, payload: "full", includeManagedFields: false }),
      payloadShapeKey({ includeSecretData: true, payload: "full", includeManagedFields: false }),
      payloadShapeKey({ includeSecretData: false, payload: "metadata", includeManagedFields: false }),
      payloadShapeKey({ includeSecretData: false, payload: "full", includeManagedFields: true }),
    ];
    expect(new Set(keys).size).toBe(4);
    expect(payloadShapeKey({ includeSecretData: false })).toBe(keys[0]);
  });
});
