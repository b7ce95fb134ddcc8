/** A Kubernetes API resource: group ("" for the core group), version and plural name. */
export interface ResourceRef {
  group: string;
  version: string;
  resource: string;
}

/**
 * Plural names users may give without group/version, mapped to where they live. Anything else
 * must be written `group/version/resource` (or `v1/resource` for the core group).
 */
const WELL_KNOWN: Record<string, Omit<ResourceRef, "resource">> = {
  ingresses: { group: "networking.k8s.io", version: "v1" },
  ingressclasses: { group: "networking.k8s.io", version: "v1" },
  networkpolicies: { group: "networking.k8s.io", version: "v1" },
  services: { group: "", version: "v1" },
  endpoints: { group: "", version: "v1" },
  secrets: { group: "", version: "v1" },
  configmaps: { group: "", version: "v1" },
  pods: { group: "", version: "v1" },
  nodes: { group: "", version: "v1" },
  namespaces: { group: "", version: "v1" },
  events: { group: "", version: "v1" },
  persistentvolumes: { group: "", version: "v1" },
  persistentvolumeclaims: { group: "", version: "v1" },
  serviceaccounts: { group: "", version: "v1" },
  deployments: { group: "apps", version: "v1" },
  statefulsets: { group: "apps", version: "v1" },
  daemonsets: { group: "apps", version: "v1" },
  replicasets: { group: "apps", version: "v1" },
  endpointslices: { group: "discovery.k8s.io", version: "v1" },
  gateways: { group: "gateway.networking.k8s.io", version: "v1" },
  httproutes: { group: "gateway.networking.k8s.io", version: "v1" },
};

const PLURAL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const GROUP = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const VERSION = /^v[0-9]+((alpha|beta)[0-9]+)?$/;

/** Parses "ingresses", "v1/services" or "networking.k8s.io/v1/ingresses"; throws with a reason. */
export function parseResource(text: string): ResourceRef {
  const parts = text.split("/");
  if (parts.length === 1) {
    const known = Object.hasOwn(WELL_KNOWN, text) ? WELL_KNOWN[text] : undefined;
    if (!known) {
      throw new Error(
        `unknown resource "${text}": write it as group/version/resource (for example stable.example.com/v1/widgets)`,
      );
    }
    return { ...known, resource: text };
  }
  const [group, version, resource] =
    parts.length === 2 ? ["", parts[0] ?? "", parts[1] ?? ""] : parts.length === 3 ? parts : [];
  if (group === undefined || version === undefined || resource === undefined) {
    throw new Error(`"${text}" has too many parts: expected group/version/resource`);
  }
  if (group !== "" && !GROUP.test(group)) throw new Error(`"${group}" is not a valid API group`);
  if (!VERSION.test(version)) throw new Error(`"${version}" is not a valid API version`);
  if (!PLURAL.test(resource)) throw new Error(`"${resource}" is not a valid plural resource name`);
  return { group: group === "core" ? "" : group, version, resource };
}

/** The canonical text form: "networking.k8s.io/v1/ingresses", "v1/services" for the core group. */
export function formatResource(ref: ResourceRef): string {
  return ref.group ? `${ref.group}/${ref.version}/${ref.resource}` : `${ref.version}/${ref.resource}`;
}

/** The API path prefix of a group/version: "/api/v1" or "/apis/<group>/<version>". */
export function apiPrefix(ref: Pick<ResourceRef, "group" | "version">): string {
  return ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
}
