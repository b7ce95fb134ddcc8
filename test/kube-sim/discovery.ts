import type { ResourceDef } from "./resources.js";
import type { SimCluster } from "./sim-cluster.js";
import { notFound } from "./status-error.js";

const VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"];

function resourceList(groupVersion: string, defs: ResourceDef[]) {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion,
    resources: defs.map((d) => ({
      name: d.resource,
      singularName: d.kind.toLowerCase(),
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: VERBS,
    })),
  };
}

function apiGroup(name: string, defs: ResourceDef[]) {
  const versions = [...new Set(defs.filter((d) => d.group === name).map((d) => d.version))].map((version) => ({
    groupVersion: `${name}/${version}`,
    version,
  }));
  return { name, versions, preferredVersion: versions[0] };
}

/**
 * Answers the discovery documents clients read before list/watch (`/version`, `/api`, `/api/v1`,
 * `/apis`, `/apis/<group>[/<version>]`); undefined when the path is none of them.
 */
export function discovery(cluster: SimCluster, segments: string[]): unknown {
  const [root, group, version, ...more] = segments;
  if (more.length > 0) return undefined;
  const defs = cluster.definitions();
  if (root === "version" && !group) {
    return { major: "1", minor: "31", gitVersion: "v1.31.0-kube-sim", goVersion: "go1.22", platform: "linux/amd64" };
  }
  if (root === "api" && !group) return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] };
  if (root === "api" && group === "v1" && !version) {
    return resourceList(
      "v1",
      defs.filter((d) => d.group === ""),
    );
  }
  if (root !== "apis" || segments.length > 3) return undefined;
  if (!group) {
    const names = [...new Set(defs.filter((d) => d.group).map((d) => d.group))];
    return { kind: "APIGroupList", apiVersion: "v1", groups: names.map((n) => apiGroup(n, defs)) };
  }
  const inGroup = defs.filter((d) => d.group === group && (!version || d.version === version));
  if (inGroup.length === 0) throw notFound(segments.join("/"));
  return version
    ? resourceList(`${group}/${version}`, inGroup)
    : { kind: "APIGroup", apiVersion: "v1", ...apiGroup(group, defs) };
}
