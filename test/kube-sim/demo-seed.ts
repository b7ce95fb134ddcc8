import type { SimCluster } from "./sim-cluster.js";

export const INGRESSES = "networking.k8s.io/v1/ingresses";

/** The demo's ingresses, as namespace/name. */
export const DEMO_INGRESSES = [
  ["shop", "web"],
  ["shop", "api"],
  ["blog", "www"],
] as const;

/** Two namespaces and three ingresses, so a demo has something to show at once. */
export function seedDemo(c: SimCluster): void {
  for (const ns of ["shop", "blog"]) c.create("v1/namespaces", { metadata: { name: ns } });
  for (const [namespace, name] of DEMO_INGRESSES) {
    const host = `${name}.${namespace}.example.com`;
    c.create(INGRESSES, {
      metadata: { namespace, name, labels: { app: name } },
      spec: {
        ingressClassName: "demo",
        rules: [
          {
            host,
            http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name, port: { number: 80 } } } }] },
          },
        ],
      },
    });
  }
}

/**
 * Touches one demo ingress after another (an annotation, so the spec and generation stay put),
 * so events keep flowing. Returns the function that stops it.
 */
export function churnDemo(c: SimCluster, everyMs: number): () => void {
  let tick = 0;
  const timer = setInterval(() => {
    const [namespace, name] = DEMO_INGRESSES[tick % DEMO_INGRESSES.length] ?? DEMO_INGRESSES[0];
    tick++;
    const current = c.get(INGRESSES, namespace, name);
    if (!current) return; // deleted by someone playing with the demo: nothing to touch
    current.metadata.annotations = { ...current.metadata.annotations, "demo.mcic.dev/tick": String(tick) };
    c.update(INGRESSES, current);
  }, everyMs);
  return () => clearInterval(timer);
}
