import type { Envelope } from "./envelope.js";
import { matchesLabels, parseLabelSelector } from "./label-selector.js";
import type { ServerFilters } from "./models.js";
import { formatResource, parseResource } from "./resource.js";

export type EnvelopeMatcher = (e: Envelope) => boolean;

/**
 * Compiles a server's filters once into a predicate. An absent or empty list matches everything.
 * A resource filter is either a plural ("ingresses", any group) or `group/version/resource`.
 */
export function compileFilters(filters: ServerFilters): EnvelopeMatcher {
  const clusters = nonEmptySet(filters.clusters);
  const namespaces = nonEmptySet(filters.namespaces);
  const types = nonEmptySet(filters.eventTypes);
  const resources = nonEmptySet(filters.resources?.map(canonical));
  const selector = filters.labelSelector ? parseLabelSelector(filters.labelSelector) : undefined;
  return (e) => {
    if (clusters && !clusters.has(e.cluster)) return false;
    // Cluster-scoped objects have no namespace: a namespace filter excludes them.
    if (namespaces && (e.namespace === undefined || !namespaces.has(e.namespace))) return false;
    if (types && !types.has(e.type)) return false;
    if (resources && !resources.has(e.resource) && !resources.has(qualified(e))) return false;
    if (selector) {
      const metadata = e.object.metadata as { labels?: Record<string, string> } | undefined;
      if (!matchesLabels(selector, metadata?.labels)) return false;
    }
    return true;
  };
}

function qualified(e: Pick<Envelope, "group" | "version" | "resource">): string {
  return e.group ? `${e.group}/${e.version}/${e.resource}` : `${e.version}/${e.resource}`;
}

/** "core/v1/pods" and "v1/pods" mean the same; plurals stay as written (they match any group). */
function canonical(item: string): string {
  if (!item.includes("/")) return item;
  try {
    return formatResource(parseResource(item));
  } catch {
    return item;
  }
}

function nonEmptySet<T>(list: T[] | undefined): Set<T> | undefined {
  return list && list.length > 0 ? new Set(list) : undefined;
}

/**
 * Whether the filters let any event of this cluster and resource through, judged on those two
 * alone: a snapshot ends with a completed notice for each such (cluster, resource), even when no
 * object of it matched.
 */
export function allowsResource(
  filters: ServerFilters,
  r: Pick<Envelope, "cluster" | "group" | "version" | "resource">,
): boolean {
  const clusters = nonEmptySet(filters.clusters);
  const resources = nonEmptySet(filters.resources?.map(canonical));
  if (clusters && !clusters.has(r.cluster)) return false;
  return !resources || resources.has(r.resource) || resources.has(qualified(r));
}
