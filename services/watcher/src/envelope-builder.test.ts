import { describe, expect, it } from "vitest";
import { buildEnvelope, envelopeJson } from "./envelope-builder.js";
import { type WatchEvent, rawObjectBytes } from "./kube-client.js";

const ref = { group: "networking.k8s.io", version: "v1", resource: "ingresses" };
const object = {
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name: "web", namespace: "shop", uid: "u1", resourceVersion: "7" },
  spec: { rules: [{ host: "ünïcode.example" }] },
};

describe("envelopeJson", () => {
  it("splices the object's bytes from the watch line into JSON equal to serialising the envelope", () => {
    const line = `{"type":"MODIFIED","object":${JSON.stringify(object)}}`;
    const event = JSON.parse(line) as WatchEvent;
    const raw = rawObjectBytes(line, Buffer.from(line), event);
    expect(raw?.toString()).toBe(JSON.stringify(object));
    const envelope = buildEnvelope("c1", ref, "Ingress", "MODIFIED", event.object, "2026-11-26T00:00:00.000Z");
    const spliced = envelopeJson(envelope, event.object, raw);
    expect(Buffer.isBuffer(spliced)).toBe(true);
    expect(JSON.parse(String(spliced))).toEqual(JSON.parse(JSON.stringify(envelope)));
  });

  it("carries a MODIFIED's changedPaths in the spliced JSON too", () => {
    const line = `{"type":"MODIFIED","object":${JSON.stringify(object)}}`;
    const event = JSON.parse(line) as WatchEvent;
    const raw = rawObjectBytes(line, Buffer.from(line), event);
    const at = "2026-11-26T00:00:00.000Z";
    const envelope = buildEnvelope("c1", ref, "Ingress", "MODIFIED", event.object, at, ["metadata.labels", "spec"]);
    const parsed = JSON.parse(String(envelopeJson(envelope, event.object, raw)));
    expect(parsed.changedPaths).toEqual(["metadata.labels", "spec"]);
    expect(parsed.object).toEqual(object);
    expect(buildEnvelope("c1", ref, "Ingress", "ADDED", event.object, at)).not.toHaveProperty("changedPaths");
  });

  it("serialises the envelope when the line has another shape or the object was completed", () => {
    const reordered = `{"object":${JSON.stringify(object)},"type":"ADDED"}`;
    expect(rawObjectBytes(reordered, Buffer.from(reordered), JSON.parse(reordered) as WatchEvent)).toBeUndefined();
    const extra = `{"type":"ADDED","object":${JSON.stringify(object)},"x":1}`;
    expect(rawObjectBytes(extra, Buffer.from(extra), JSON.parse(extra) as WatchEvent)).toBeUndefined();
    // A list item lacks apiVersion and kind: the envelope carries a completed copy, not the bytes.
    const { apiVersion: _a, kind: _k, ...item } = object;
    const envelope = buildEnvelope("c1", ref, "Ingress", "ADDED", item, "2026-11-26T00:00:00.000Z");
    const json = envelopeJson(envelope, item, Buffer.from(JSON.stringify(item)));
    expect(typeof json).toBe("string");
    expect(JSON.parse(json as string).object).toMatchObject({ apiVersion: "networking.k8s.io/v1", kind: "Ingress" });
  });
});

describe("envelopeJson for a Secret", () => {
  it("never splices its bytes, which hold its values in clear", () => {
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace: "shop", uid: "s1", resourceVersion: "9" },
      data: { password: "aHVudGVyMg==" },
    };
    const line = `{"type":"ADDED","object":${JSON.stringify(secret)}}`;
    const event = JSON.parse(line) as WatchEvent;
    const raw = rawObjectBytes(line, Buffer.from(line), event);
    expect(raw).toBeDefined();
    const envelope = buildEnvelope(
      "c1",
      { group: "", version: "v1", resource: "secrets" },
      "Secret",
      "ADDED",
      event.object,
      "2026-11-26T00:00:00.000Z",
    );
    expect(envelopeJson(envelope, event.object, raw)).toBeUndefined();
  });
});
