import type { KubeObject } from "@mcic/core";
import { describe, expect, it } from "vitest";
import { changedPaths, sectionHashes } from "./section-hashes.js";

function ingress(overrides: { spec?: unknown; status?: unknown; metadata?: Record<string, unknown> } = {}): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: "web",
      namespace: "shop",
      uid: "u1",
      resourceVersion: "10",
      generation: 1,
      creationTimestamp: "2026-01-01T00:00:00Z",
      labels: { app: "web" },
      managedFields: [{ manager: "kubectl", operation: "Apply" }],
      ...overrides.metadata,
    },
    spec: overrides.spec ?? { rules: [{ host: "web.example.com" }] },
    status: overrides.status ?? { loadBalancer: {} },
  } as KubeObject;
}

const diff = (a: KubeObject, b: KubeObject) => changedPaths(sectionHashes(a), sectionHashes(b));

describe("section hashes", () => {
  it("name the sections that changed, sorted, as filters spell them", () => {
    const before = ingress();
    expect(diff(before, ingress({ status: { loadBalancer: { ingress: [{ ip: "10.0.0.1" }] } } }))).toEqual(["status"]);
    expect(diff(before, ingress({ spec: { rules: [] }, metadata: { labels: { app: "v2" } } }))).toEqual([
      "metadata.labels",
      "spec",
    ]);
    // A section that appears or disappears has changed.
    expect(diff(before, ingress({ metadata: { annotations: { a: "b" } } }))).toEqual(["metadata.annotations"]);
    expect(diff(ingress({ metadata: { finalizers: ["x"] } }), before)).toEqual(["metadata.finalizers"]);
  });

  it("never count resourceVersion, managedFields or generation, nor an identical write", () => {
    const before = ingress();
    const bookkeeping = ingress({
      metadata: { resourceVersion: "11", generation: 2, managedFields: [{ manager: "other", operation: "Update" }] },
    });
    expect(diff(before, bookkeeping)).toEqual([]);
    expect(diff(before, ingress())).toEqual([]);
  });

  it("stay short: a few characters per section, nothing for immutable metadata", () => {
    const encoded = sectionHashes(ingress());
    expect(encoded).toMatch(/^spec:[0-9a-z]{1,7},status:[0-9a-z]{1,7},\.labels:[0-9a-z]{1,7}$/);
  });

  it("track any top-level section (data of a ConfigMap) and skip names the encoding cannot hold", () => {
    const cm = (data: object, odd = "x"): KubeObject =>
      ({ metadata: { name: "c", uid: "u", resourceVersion: "1" }, data, "odd,key": odd }) as unknown as KubeObject;
    expect(diff(cm({ a: "1" }), cm({ a: "2" }))).toEqual(["data"]);
    expect(diff(cm({ a: "1" }), cm({ a: "1" }, "y"))).toEqual([]);
  });

  it("match sections by name when another writer ordered them differently", () => {
    const before = ingress();
    const { spec, status, ...rest } = ingress({ spec: { rules: [] } }) as KubeObject & {
      spec: unknown;
      status: unknown;
    };
    const reordered = { ...rest, status, spec } as KubeObject;
    expect(diff(before, reordered)).toEqual(["spec"]);
    expect(diff(before, { ...rest, status } as KubeObject)).toEqual(["spec"]);
  });
});
