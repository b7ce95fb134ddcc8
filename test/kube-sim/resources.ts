/** A resource the simulator serves. */
export interface ResourceDef {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
}

export const BUILT_IN: ResourceDef[] = [
  { group: "networking.k8s.io", version: "v1", resource: "ingresses", kind: "Ingress", namespaced: true },
  { group: "networking.k8s.io", version: "v1", resource: "ingressclasses", kind: "IngressClass", namespaced: false },
  { group: "", version: "v1", resource: "services", kind: "Service", namespaced: true },
  { group: "", version: "v1", resource: "endpoints", kind: "Endpoints", namespaced: true },
  { group: "", version: "v1", resource: "secrets", kind: "Secret", namespaced: true },
  { group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true },
  { group: "", version: "v1", resource: "pods", kind: "Pod", namespaced: true },
  { group: "", version: "v1", resource: "namespaces", kind: "Namespace", namespaced: false },
  { group: "", version: "v1", resource: "nodes", kind: "Node", namespaced: false },
  { group: "apps", version: "v1", resource: "deployments", kind: "Deployment", namespaced: true },
];

/** "networking.k8s.io/v1/ingresses", "v1/services" → the map key used throughout the simulator. */
export function resourceKey(def: Pick<ResourceDef, "group" | "version" | "resource">): string {
  return def.group ? `${def.group}/${def.version}/${def.resource}` : `${def.version}/${def.resource}`;
}

export function apiVersionOf(def: Pick<ResourceDef, "group" | "version">): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}
