import { age, cell, list, renderTable } from "./text.js";
import type { Cluster, ResourceStatus } from "./views.js";

const SEVERITY = ["error", "pending", "syncing", "watching"];

/** The worst state among a cluster's resources (error before pending before syncing before watching). */
export function clusterState(cluster: Cluster): string | undefined {
  const status = cluster.status;
  if (!status) return undefined;
  if (Array.isArray(status.resources)) {
    const states = status.resources.map((r) => r.state);
    return SEVERITY.find((s) => states.includes(s)) ?? states[0];
  }
  return status.state;
}

/** `networking.k8s.io/v1/ingresses` → `ingresses`: the plural names tables have room for. */
export function shortResource(resource: string): string {
  return resource.split("/").at(-1) ?? resource;
}

export function clusterTable(clusters: readonly Cluster[], now: Date): string {
  return renderTable(
    ["NAME", "STATE", "RESOURCES", "NAMESPACES", "SOURCE", "AGE"],
    clusters.map((c) => [
      cell(c.name),
      cell(clusterState(c)),
      list(c.resources.map(shortResource), "-"),
      list(c.namespaces),
      cell(c.source),
      age(c.createdAt, now),
    ]),
  );
}

export function resourceTable(resources: readonly ResourceStatus[], now: Date): string {
  return renderTable(
    ["RESOURCE", "STATE", "RESOURCEVERSION", "LAST EVENT", "WATCHER", "MESSAGE"],
    resources.map((r) => [
      cell(r.resource),
      cell(r.state),
      cell(r.resourceVersion),
      age(r.lastEventAt, now),
      cell(r.watcherId),
      cell(r.message),
    ]),
  );
}

/** `cluster get`: the cluster's row, its label selector, and the watch state of each resource. */
export function clusterDetail(cluster: Cluster, now: Date): string {
  const parts = [clusterTable([cluster], now)];
  if (cluster.labelSelector) parts.push(`Label selector: ${cell(cluster.labelSelector)}\n`);
  if (cluster.context) parts.push(`Context: ${cell(cluster.context)}\n`);
  const resources = Array.isArray(cluster.status?.resources) ? cluster.status.resources : [];
  if (resources.length > 0) parts.push(`\n${resourceTable(resources, now)}`);
  return parts.join("");
}
