import { describe, expect, it } from "vitest";
import { CEL_COST_LIMIT, ExpressionEvaluationError, compileExpression, expressionProblem } from "./cel-expression.js";
import { type Envelope, envelopeId } from "./envelope.js";

function ingress(object: Record<string, unknown>, overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: envelopeId("east", "u1", "7", "MODIFIED"),
    cluster: "east",
    group: "networking.k8s.io",
    version: "v1",
    resource: "ingresses",
    kind: "Ingress",
    namespace: "shop",
    name: "front",
    uid: "u1",
    resourceVersion: "7",
    type: "MODIFIED",
    observedAt: "2024-05-01T12:00:00.000Z",
    object,
    ...overrides,
  };
}

const shop = ingress({
  metadata: { name: "front", namespace: "shop", labels: { app: "web", tier: "edge" } },
  spec: { rules: [{ host: "www.shop.example" }, { host: "api.other.example" }], replicas: 3 },
});
const noRules = ingress({ metadata: { name: "bare" }, spec: {} });

const run = (source: string, e: Envelope = shop) => compileExpression(source).evaluate(e);

describe("CEL expressions", () => {
  it("evaluate the issue's example over the object", () => {
    expect(run('object.spec.rules.exists(r, r.host.endsWith(".shop.example"))')).toBe(true);
    expect(run('object.spec.rules.all(r, r.host.endsWith(".shop.example"))')).toBe(false);
  });

  it("see the envelope as `event`, labels and changedPaths included", () => {
    expect(run('event.type == "MODIFIED" && event.cluster == "east" && event.resource == "ingresses"')).toBe(true);
    expect(run('event.namespace == "shop" && event.name == "front" && event.kind == "Ingress"')).toBe(true);
    expect(run('event.labels.app == "web" && "tier" in event.labels')).toBe(true);
    expect(run("size(event.changedPaths) == 0 && !event.snapshot")).toBe(true);
    const changed = { ...shop, changedPaths: ["spec"] } as Envelope;
    expect(run('"spec" in event.changedPaths', changed)).toBe(true);
  });

  it("give cluster-scoped objects the namespace '' and objects without labels an empty map", () => {
    const { namespace: _ns, ...node } = ingress({ metadata: { name: "n1" } }, { resource: "nodes", kind: "Node" });
    expect(run('event.namespace == "" && size(event.labels) == 0', node as Envelope)).toBe(true);
  });

  it("compare JSON numbers with CEL ints and doubles", () => {
    expect(run("object.spec.replicas == 3 && object.spec.replicas > 2.5")).toBe(true);
  });

  it("fail on a missing field unless guarded with has()", () => {
    expect(() => run('object.spec.rules.exists(r, r.host == "x")', noRules)).toThrow(ExpressionEvaluationError);
    expect(run('has(object.spec.rules) && object.spec.rules.exists(r, r.host == "x")', noRules)).toBe(false);
  });

  it("fail on a result that is not a bool", () => {
    expect(() => run("object.spec.replicas")).toThrow(/not a bool/);
  });

  it.each([
    ["1 +", /Unexpected token: EOF at line 1, column 4/],
    ['event.type ==\n  "ADDED" &&', /at line 2, column 13/],
    ["foo == 1", /Unknown variable: foo at line 1, column 1/],
    ['event.foo == "x"', /No such key: foo at line 1, column 7/],
    ["event.type + 1", /no such overload: string \+ int at line 1, column 1/],
    ['"text"', /must yield a bool, not string/],
    ['event.name.matches("^(a+)+$")', /matches\(\) is not offered .* at line 1, column 12/],
    ["__mcicMeterProbe(1)", /__mcicMeterProbe/],
    [`${"(".repeat(40)}true${")".repeat(40)}`, /maxDepth|depth/i],
  ])("refuse %j at compile time with its position", (source, message) => {
    expect(expressionProblem(source)).toMatch(message);
  });

  it("accept valid expressions", () => {
    expect(expressionProblem('event.namespace.startsWith("shop-") || event.labels["app"] == "web"')).toBeUndefined();
  });

  describe("cost limit", () => {
    const wide = ingress({ spec: { items: Array.from({ length: 5000 }, (_, i) => i) } });

    it("stops a quadratic comprehension over a large list", () => {
      expect(() => run("object.spec.items.all(a, object.spec.items.all(b, a >= 0))", wide)).toThrow(
        `cost limit of ${CEL_COST_LIMIT}`,
      );
    });

    it("stops a membership test repeated over a large list", () => {
      expect(() => run("object.spec.items.all(a, a in object.spec.items)", wide)).toThrow(/cost limit/);
    });

    it("stops a string doubled again and again", () => {
      const doubled = `[event.name]${".map(x, x + x)".repeat(25)}`;
      expect(expressionProblem(`${doubled}[0].size() > 0`)).toBeUndefined();
      expect(() => run(`${doubled}[0].size() > 0`)).toThrow(/cost limit/);
    });

    it("lets a single pass over a large list through", () => {
      expect(run("object.spec.items.exists(a, a == 4999)", wide)).toBe(true);
    });
  });
});
