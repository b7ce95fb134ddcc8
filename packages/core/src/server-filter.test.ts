import { describe, expect, it } from "vitest";
import { type Envelope, envelopeId } from "./envelope.js";
import { allowsResource, compileFilters } from "./server-filter.js";

function event(overrides: Partial<Envelope> & { labels?: Record<string, string> } = {}): Envelope {
  const { labels, ...rest } = overrides;
  const e: Envelope = {
    id: envelopeId("east", "u1", "1", "ADDED"),
    cluster: "east",
    group: "networking.k8s.io",
    version: "v1",
    resource: "ingresses",
    kind: "Ingress",
    namespace: "shop",
    name: "front",
    uid: "u1",
    resourceVersion: "1",
    type: "ADDED",
    observedAt: "2024-05-01T12:00:00.000Z",
    object: { metadata: { name: "front", namespace: "shop", labels: labels ?? { app: "web" } } },
    ...rest,
  };
  return e;
}

const ingress = event();
const service = event({ group: "", resource: "services", kind: "Service", name: "svc" });
const node = (() => {
  const { namespace: _ns, ...rest } = event({ group: "", resource: "nodes", kind: "Node", name: "n1" });
  return rest as Envelope;
})();
const crdIngresses = event({ group: "example.com", version: "v1alpha1", resource: "ingresses", kind: "MyIngress" });

describe("compileFilters", () => {
  it("matches everything when empty", () => {
    const match = compileFilters({});
    for (const e of [ingress, service, node, crdIngresses, event({ type: "DELETED", cluster: "west" })]) {
      expect(match(e)).toBe(true);
    }
  });

  it("treats empty lists and an empty selector as no filter", () => {
    const match = compileFilters({ clusters: [], namespaces: [], eventTypes: [], resources: [], labelSelector: "" });
    expect(match(node)).toBe(true);
    expect(match(ingress)).toBe(true);
  });

  it("filters by cluster", () => {
    const match = compileFilters({ clusters: ["east", "north"] });
    expect(match(ingress)).toBe(true);
    expect(match(event({ cluster: "west" }))).toBe(false);
  });

  it("filters by namespace and excludes cluster-scoped objects", () => {
    const match = compileFilters({ namespaces: ["shop"] });
    expect(match(ingress)).toBe(true);
    expect(match(event({ namespace: "billing" }))).toBe(false);
    expect(match(node)).toBe(false);
  });

  it("filters by event type", () => {
    const match = compileFilters({ eventTypes: ["ADDED", "DELETED"] });
    expect(match(event({ type: "ADDED" }))).toBe(true);
    expect(match(event({ type: "DELETED" }))).toBe(true);
    expect(match(event({ type: "MODIFIED" }))).toBe(false);
  });

  it("filters by plural resource name in any group", () => {
    const match = compileFilters({ resources: ["ingresses"] });
    expect(match(ingress)).toBe(true);
    expect(match(crdIngresses)).toBe(true);
    expect(match(service)).toBe(false);
  });

  it("filters by group/version/resource", () => {
    const match = compileFilters({ resources: ["networking.k8s.io/v1/ingresses"] });
    expect(match(ingress)).toBe(true);
    expect(match(crdIngresses)).toBe(false);
    expect(match(event({ version: "v1beta1" }))).toBe(false);
    expect(match(service)).toBe(false);
  });

  it("filters core resources by v1/<plural>", () => {
    const match = compileFilters({ resources: ["v1/services"] });
    expect(match(service)).toBe(true);
    expect(match(ingress)).toBe(false);
    expect(match(node)).toBe(false);
  });

  it("filters by the labels of the object", () => {
    const match = compileFilters({ labelSelector: "app=web,tier notin (db)" });
    expect(match(event({ labels: { app: "web" } }))).toBe(true);
    expect(match(event({ labels: { app: "web", tier: "front" } }))).toBe(true);
    expect(match(event({ labels: { app: "web", tier: "db" } }))).toBe(false);
    expect(match(event({ labels: { app: "api" } }))).toBe(false);
  });

  it("treats an object without labels or metadata as having no labels", () => {
    const wantsWeb = compileFilters({ labelSelector: "app=web" });
    const notCanary = compileFilters({ labelSelector: "!canary" });
    const unlabeled = event({ object: { metadata: { name: "front" } } });
    const bare = event({ object: {} });
    expect(wantsWeb(unlabeled)).toBe(false);
    expect(wantsWeb(bare)).toBe(false);
    expect(notCanary(unlabeled)).toBe(true);
    expect(notCanary(bare)).toBe(true);
  });

  it("requires every filter to match", () => {
    const match = compileFilters({
      clusters: ["east"],
      namespaces: ["shop"],
      eventTypes: ["MODIFIED"],
      resources: ["ingresses"],
      labelSelector: "app=web",
    });
    expect(match(event({ type: "MODIFIED" }))).toBe(true);
    expect(match(event({ type: "MODIFIED", cluster: "west" }))).toBe(false);
    expect(match(event({ type: "MODIFIED", namespace: "other" }))).toBe(false);
    expect(match(event({ type: "ADDED" }))).toBe(false);
    expect(match(event({ type: "MODIFIED", resource: "services" }))).toBe(false);
    expect(match(event({ type: "MODIFIED", labels: { app: "api" } }))).toBe(false);
  });

  it("throws at compile time on a bad selector", () => {
    expect(() => compileFilters({ labelSelector: "app in web" })).toThrow();
  });

  it("passes a MODIFIED only when one of the wanted sections changed; ADDED, DELETED and MODIFIED without changedPaths pass", () => {
    const match = compileFilters({ changedPaths: ["spec", "metadata.labels"] });
    const modified = (changedPaths?: string[]) =>
      event({ type: "MODIFIED", ...(changedPaths ? { changedPaths } : {}) });
    expect(match(modified(["spec"]))).toBe(true);
    expect(match(modified(["metadata.labels", "status"]))).toBe(true);
    expect(match(modified(["status"]))).toBe(false);
    expect(match(modified(["metadata.annotations"]))).toBe(false);
    // Only bookkeeping changed (resourceVersion, managedFields, generation): nothing a filter can want.
    expect(match(modified([]))).toBe(false);
    // The previous version's hashes were unknown (state of an older mcic): fail open.
    expect(match(modified())).toBe(true);
    expect(match(event({ type: "ADDED" }))).toBe(true);
    expect(match(event({ type: "DELETED", changedPaths: ["status"] }))).toBe(true);
  });
});

describe("allowsResource (which (cluster, resource) a snapshot ends with a completed event for)", () => {
  const ingresses = { cluster: "east", group: "networking.k8s.io", version: "v1", resource: "ingresses" };
  const services = { cluster: "east", group: "", version: "v1", resource: "services" };

  it("allows everything without filters, and ignores the object-level ones", () => {
    expect(allowsResource({}, ingresses)).toBe(true);
    expect(allowsResource({ namespaces: ["none"], eventTypes: ["DELETED"], labelSelector: "a=b" }, services)).toBe(
      true,
    );
  });

  it("follows the cluster and resource filters, plural or qualified", () => {
    expect(allowsResource({ clusters: ["west"] }, ingresses)).toBe(false);
    expect(allowsResource({ resources: ["ingresses"] }, ingresses)).toBe(true);
    expect(allowsResource({ resources: ["ingresses"] }, services)).toBe(false);
    expect(allowsResource({ resources: ["networking.k8s.io/v1/ingresses"] }, ingresses)).toBe(true);
    expect(allowsResource({ resources: ["core/v1/services"] }, services)).toBe(true);
  });
});

describe("compileFilters: exclusions, name globs and expressions", () => {
  it("excludes namespaces but never cluster-scoped objects", () => {
    const match = compileFilters({ excludeNamespaces: ["kube-system", "shop"] });
    expect(match(ingress)).toBe(false);
    expect(match(event({ namespace: "kube-system" }))).toBe(false);
    expect(match(event({ namespace: "blog" }))).toBe(true);
    expect(match(node)).toBe(true);
  });

  it("matches names against anchored globs", () => {
    const match = compileFilters({ names: ["web-*", "api-?"] });
    expect(match(event({ name: "web-front" }))).toBe(true);
    expect(match(event({ name: "api-1" }))).toBe(true);
    expect(match(event({ name: "api-12" }))).toBe(false);
    expect(match(event({ name: "my-web-front" }))).toBe(false);
  });

  it("matches on a CEL expression over event and object", () => {
    const match = compileFilters({ expression: 'event.labels.app == "web" && object.metadata.namespace == "shop"' });
    expect(match(ingress)).toBe(true);
    expect(match(event({ labels: { app: "api" } }))).toBe(false);
  });

  it("counts an expression that fails as no match and reports it", () => {
    const failures: string[] = [];
    const match = compileFilters(
      { expression: 'object.spec.rules.exists(r, r.host == "a.example")' },
      { onExpressionError: (err, e) => failures.push(`${e.name}: ${err.message}`) },
    );
    expect(match(ingress)).toBe(false);
    expect(failures).toEqual(["front: No such key: spec"]);
  });

  it("evaluates the expression only after every other filter matched", () => {
    const failures: Error[] = [];
    const match = compileFilters(
      { namespaces: ["blog"], expression: "object.spec.missing == 1" },
      { onExpressionError: (err) => failures.push(err) },
    );
    expect(match(ingress)).toBe(false);
    expect(failures).toEqual([]);
  });

  it("throws at compile time on a bad expression", () => {
    expect(() => compileFilters({ expression: "event.type ==" })).toThrow(/at line 1, column 14/);
  });
});
