import { describe, expect, it } from "vitest";
import { DeliveryRequestSchema } from "./delivery.js";
import { EnvelopeSchema } from "./envelope.js";
import { snapshotCompletedEnvelope, snapshotCompletedEvent } from "./snapshot-completed.js";
import { toCloudEvent } from "./webhook.js";

const data = {
  cluster: "east",
  group: "networking.k8s.io",
  version: "v1",
  resource: "ingresses",
  requestId: "r-1",
  count: 3,
  resourceVersion: "42",
};

describe("the snapshot.completed notice", () => {
  it("is sent as the agreed CloudEvent, whatever the server's secret settings", () => {
    const envelope = snapshotCompletedEnvelope(data, "2026-01-01T00:00:00.000Z");
    for (const includeSecretData of [false, true]) {
      expect(toCloudEvent(envelope, { includeSecretData })).toEqual({
        specversion: "1.0",
        id: "snapshot/r-1/east/networking_k8s_io/ingresses",
        source: "/clusters/east",
        type: "dev.mcic.snapshot.completed",
        subject: "ingresses",
        time: "2026-01-01T00:00:00.000Z",
        datacontenttype: "application/json",
        data,
      });
    }
  });

  it("names the core group core in its id and keeps group empty in data", () => {
    const envelope = snapshotCompletedEnvelope({ ...data, group: "", resource: "services", count: 0 }, "t");
    const event = toCloudEvent(envelope, { includeSecretData: false });
    expect(event.id).toBe("snapshot/r-1/east/core/services");
    expect(event.data).toMatchObject({ group: "", count: 0 });
  });

  it("survives the delivery queue's schema (retries, dead letters and replays carry it)", () => {
    const envelope = snapshotCompletedEnvelope(data, "t");
    const request = DeliveryRequestSchema.parse(
      JSON.parse(
        JSON.stringify({ server: "s", envelope, attempt: 2, firstAttemptAt: "t", notBefore: "t", reason: "retry" }),
      ),
    );
    expect(snapshotCompletedEvent(request.envelope)?.data).toEqual(data);
  });

  it("leaves object events alone, snapshot ones included", () => {
    const object = EnvelopeSchema.parse({
      id: "east/u1/5/ADDED",
      cluster: "east",
      group: "",
      version: "v1",
      resource: "services",
      kind: "Service",
      namespace: "shop",
      name: "web",
      uid: "u1",
      resourceVersion: "5",
      type: "ADDED",
      observedAt: "t",
      object: { metadata: { name: "web" } },
      snapshot: true,
      requestId: "r-1",
    });
    expect(snapshotCompletedEvent(object)).toBeUndefined();
    expect(toCloudEvent(object, { includeSecretData: false })).toMatchObject({
      type: "dev.mcic.services.added",
      data: { snapshot: true, requestId: "r-1" },
    });
  });
});
