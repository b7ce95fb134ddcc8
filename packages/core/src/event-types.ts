import { EVENT_TYPES, type EventType } from "./envelope.js";
import { parseResource } from "./resource.js";

/** `POST /servers/{name}/test` sends it. */
export const PING_EVENT_TYPE = "dev.mcic.ping";
/** Ends each snapshot, per cluster and resource. */
export const SNAPSHOT_COMPLETED_EVENT_TYPE = "dev.mcic.snapshot.completed";

/** The CloudEvent type of a change: `dev.mcic.<resource>.<added|modified|deleted>`. */
export function resourceEventType(resource: string, type: EventType): string {
  return `dev.mcic.${resource}.${type.toLowerCase()}`;
}

export interface EventTypeEntry {
  type: string;
  description: string;
  /** For changes: the resource they are about and the clusters that watch it. */
  resource?: string;
  group?: string;
  version?: string;
  eventType?: EventType;
  clusters?: string[];
}

/**
 * What mcic can emit now: a change type per watched resource of the registered clusters (one
 * entry per group and version, since two groups may share a plural), plus the constant types.
 */
export function eventCatalog(clusters: { name: string; resources: string[] }[]): EventTypeEntry[] {
  const byResource = new Map<string, { group: string; version: string; resource: string; clusters: Set<string> }>();
  for (const cluster of clusters) {
    for (const text of cluster.resources) {
      const ref = parseResource(text);
      const key = `${ref.group}/${ref.version}/${ref.resource}`;
      const entry = byResource.get(key) ?? { ...ref, clusters: new Set<string>() };
      entry.clusters.add(cluster.name);
      byResource.set(key, entry);
    }
  }
  const changes = [...byResource.values()].flatMap((ref) =>
    EVENT_TYPES.map((eventType) => ({
      type: resourceEventType(ref.resource, eventType),
      description: `${ref.resource} ${eventType.toLowerCase()} in a watched cluster`,
      resource: ref.resource,
      group: ref.group,
      version: ref.version,
      eventType,
      clusters: [...ref.clusters].sort(),
    })),
  );
  changes.sort((a, b) => a.type.localeCompare(b.type) || a.group.localeCompare(b.group));
  return [
    ...changes,
    { type: PING_EVENT_TYPE, description: "test event sent by POST /servers/{name}/test" },
    {
      type: SNAPSHOT_COMPLETED_EVENT_TYPE,
      description: "end of a snapshot of one cluster and resource: {cluster, group, resource, requestId, count}",
    },
  ];
}
