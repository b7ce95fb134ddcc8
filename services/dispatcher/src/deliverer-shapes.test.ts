import {
  type AttemptResult,
  type Envelope,
  type SerializedEvent,
  type StoredServer,
  type WebhookSender,
  createLogger,
  envelopeId,
  payloadShapeKey,
} from "@mcic/core";
import { describe, expect, it } from "vitest";
import { Deliverer, type DelivererOptions } from "./deliverer.js";
import type { Target } from "./server-index.js";

function target(name: string, shape: Pick<StoredServer, "payload" | "includeManagedFields">): Target {
  return {
    name,
    url: `http://127.0.0.1:1/${name}`,
    key: Buffer.alloc(32),
    headers: {},
    includeSecretData: false,
    ...shape,
    shapeKey: payloadShapeKey({ includeSecretData: false, ...shape }),
    matches: () => true,
    stored: { retry: {} } as StoredServer,
  };
}

const event: Envelope = {
  id: envelopeId("c1", "u1", "3", "MODIFIED"),
  cluster: "c1",
  group: "",
  version: "v1",
  resource: "configmaps",
  kind: "ConfigMap",
  namespace: "ns",
  name: "settings",
  uid: "u1",
  resourceVersion: "3",
  type: "MODIFIED",
  observedAt: "2026-12-01T00:00:00.000Z",
  object: {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "settings", namespace: "ns", managedFields: [{ manager: "kubectl" }] },
    data: { big: "x".repeat(1000) },
  },
  changedPaths: ["data"],
};

describe("Deliverer bodies", () => {
  it("serializes each event once per distinct shape: servers wanting the same shape share one body", async () => {
    const targets = [
      target("a", { payload: "full", includeManagedFields: false }),
      target("b", { payload: "full", includeManagedFields: false }),
      target("meta", { payload: "metadata", includeManagedFields: false }),
      target("managed", { payload: "full", includeManagedFields: true }),
    ];
    const sent = new Map<string, SerializedEvent>();
    const ok: AttemptResult = { ok: true, status: 204, durationMs: 1 };
    const sender = {
      send: async (t: Target, e: SerializedEvent) => {
        sent.set(t.name, e);
        return ok;
      },
    } as unknown as WebhookSender;
    const deliverer = new Deliverer({
      sender,
      servers: { get: (n: string) => targets.find((t) => t.name === n), isDisabled: () => false },
      recorder: { record: () => {}, delivered: () => {} },
      latest: { mayHaveRetries: () => false },
      lanes: { setFailing: () => {} },
      logger: createLogger({ name: "test", level: "silent" }),
    } as unknown as DelivererOptions);
    for (const t of targets) await deliverer.attempt(t, event, 1, event.observedAt);

    expect(sent.get("a")).toBe(sent.get("b"));
    const data = (name: string) => JSON.parse(sent.get(name)?.body ?? "").data as Envelope;
    expect(data("a").object.metadata).toEqual({ name: "settings", namespace: "ns" });
    expect(data("a").object.data).toEqual(event.object.data);
    expect(data("meta").object).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "settings", namespace: "ns" },
    });
    expect(data("managed").object).toEqual(event.object);
    for (const name of ["a", "meta", "managed"]) expect(data(name).changedPaths).toEqual(["data"]);
  });
});
