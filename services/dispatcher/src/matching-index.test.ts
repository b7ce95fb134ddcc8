import { type Envelope, type ServerFilters, compileFilters, envelopeId } from "@mcic/core";
import { describe, expect, it } from "vitest";
import { MatchingIndex } from "./matching-index.js";

interface Item {
  name: string;
  filters: ServerFilters;
  matches: (e: Envelope) => boolean;
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure names the seed that shows it. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CLUSTERS = ["east", "west", "north", "south"];
const NAMESPACES = ["shop", "blog", "kube-system", "ops"];
const RESOURCES = [
  { group: "", version: "v1", resource: "pods", kind: "Pod" },
  { group: "", version: "v1", resource: "nodes", kind: "Node" },
  { group: "networking.k8s.io", version: "v1", resource: "ingresses", kind: "Ingress" },
  { group: "example.com", version: "v1alpha1", resource: "ingresses", kind: "MyIngress" },
  { group: "apps", version: "v1", resource: "deployments", kind: "Deployment" },
];
// Plurals, both spellings of the core group, other groups' names of a plural, unknown ones.
const RESOURCE_FILTERS = [
  "pods",
  "v1/pods",
  "core/v1/pods",
  "nodes",
  "ingresses",
  "networking.k8s.io/v1/ingresses",
  "example.com/v1alpha1/ingresses",
  "deployments",
  "apps/v1/deployments",
  "v1/deployments",
  "secrets",
];
const EXPRESSIONS = [
  'event.type == "ADDED"',
  'object.metadata.name.startsWith("a")',
  // Fails on objects without spec.replicas: such events do not match (and report the error).
  "object.spec.replicas > 1",
];

function pick<T>(next: () => number, list: readonly T[]): T {
  return list[Math.floor(next() * list.length)] as T;
}

function some<T>(next: () => number, list: readonly T[], max = 3): T[] {
  return Array.from({ length: 1 + Math.floor(next() * max) }, () => pick(next, list));
}

function randomFilters(next: () => number): ServerFilters {
  const f: ServerFilters = {};
  if (next() < 0.4) f.clusters = some(next, CLUSTERS);
  if (next() < 0.4) f.namespaces = some(next, NAMESPACES);
  if (next() < 0.4) f.resources = some(next, RESOURCE_FILTERS);
  if (next() < 0.15) f.excludeNamespaces = some(next, NAMESPACES, 2);
  if (next() < 0.15) f.eventTypes = some(next, ["ADDED", "MODIFIED", "DELETED"] as const, 2);
  if (next() < 0.15) f.names = some(next, ["a*", "b?", "front"], 2);
  if (next() < 0.1) f.labelSelector = pick(next, ["app=web", "app!=web", "tier"]);
  if (next() < 0.1) f.expression = pick(next, EXPRESSIONS);
  if (next() < 0.05) f.clusters = [];
  return f;
}

function randomEvent(next: () => number, n: number): Envelope {
  const r = pick(next, RESOURCES);
  const clusterScoped = r.resource === "nodes" || next() < 0.1;
  const namespace = clusterScoped ? undefined : pick(next, NAMESPACES);
  const type = pick(next, ["ADDED", "MODIFIED", "DELETED"] as const);
  const name = pick(next, ["a1", "b2", "front", "zz"]);
  const cluster = pick(next, [...CLUSTERS, "elsewhere"]);
  const labels = next() < 0.5 ? { app: "web" } : { tier: "db" };
  const spec = next() < 0.5 ? { replicas: Math.floor(next() * 3) } : {};
  return {
    id: envelopeId(cluster, `u${n}`, "1", type),
    cluster,
    ...r,
    ...(namespace === undefined ? {} : { namespace }),
    name,
    uid: `u${n}`,
    resourceVersion: "1",
    type,
    observedAt: "2024-05-01T12:00:00.000Z",
    object: { metadata: { name, ...(namespace === undefined ? {} : { namespace }), labels }, spec },
  };
}

function items(next: () => number, count: number, onError: (name: string) => void): Item[] {
  return Array.from({ length: count }, (_, i) => {
    const filters = randomFilters(next);
    const name = `s${i}`;
    return { name, filters, matches: compileFilters(filters, { onExpressionError: () => onError(name) }) };
  });
}

describe("MatchingIndex", () => {
  it("returns exactly the servers a scan of all of them returns, in the same order", () => {
    for (let seed = 1; seed <= 25; seed++) {
      const next = random(seed);
      const servers = items(next, 1 + Math.floor(next() * 120), () => undefined);
      const index = new MatchingIndex(servers, (s) => s.filters);
      for (let n = 0; n < 200; n++) {
        const e = randomEvent(next, n);
        const scanned = servers.filter((s) => s.matches(e)).map((s) => s.name);
        expect(
          index.match(e).map((s) => s.name),
          `seed ${seed}, event ${n}`,
        ).toEqual(scanned);
      }
    }
  });

  it("runs a failing expression once per server and event, as a scan does", () => {
    const errors: string[] = [];
    const servers = [
      // Filed under both names of pods: the event looks both up and must still run it once.
      { name: "both", filters: { resources: ["pods", "v1/pods"], expression: "object.spec.replicas > 1" } },
      { name: "any", filters: { expression: "object.spec.replicas > 1" } },
    ].map((s) => ({ ...s, matches: compileFilters(s.filters, { onExpressionError: () => errors.push(s.name) }) }));
    const index = new MatchingIndex(servers, (s) => s.filters);
    const pod = { ...randomEvent(random(1), 0), ...RESOURCES[0], object: { metadata: { name: "p" } } };
    expect(index.match(pod)).toEqual([]);
    expect(errors).toEqual(["both", "any"]);
  });

  it("looks only at servers filed under the event's cluster, namespace or resource and the unpinned ones", () => {
    let runs = 0;
    const servers = Array.from({ length: 1000 }, (_, i) => {
      const filters: ServerFilters = { clusters: [`c${i}`] };
      const matcher = compileFilters(filters);
      return {
        filters,
        matches: (e: Envelope) => {
          runs++;
          return matcher(e);
        },
      };
    });
    const index = new MatchingIndex(servers, (s) => s.filters);
    const e = { ...randomEvent(random(2), 0), cluster: "c500" };
    expect(index.match(e)).toEqual([servers[500]]);
    expect(runs).toBe(1);
  });
});
