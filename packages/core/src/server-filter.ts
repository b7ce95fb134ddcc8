import { type CompiledExpression, compileExpression } from "./cel-expression.js";
import type { Envelope } from "./envelope.js";
import { matchesLabels, parseLabelSelector } from "./label-selector.js";
import type { ServerFilters } from "./models.js";
import { compileNameGlobs } from "./name-glob.js";
import { formatResource, parseResource } from "./resource.js";

export type EnvelopeMatcher = (e: Envelope) => boolean;

export interface FilterOptions {
  /** An expression that failed on an event (missing field, cost limit, …): the event did not match. */
  onExpressionError?: (err: Error, e: Envelope) => void;
}

/**
 * Compiles a server's filters once into a predicate. An absent or empty list matches everything.
 * A resource filter is either a plural ("ingresses", any group) or `group/version/resource`.
 */
export function compileFilters(filters: ServerFilters, options: FilterOptions = {}): EnvelopeMatcher {
  const clusters = nonEmptySet(filters.clusters);
  const namespaces = nonEmptySet(filters.namespaces);
  const types = nonEmptySet(filters.eventTypes);
  const resources = nonEmptySet(filters.resources?.map(canonical));
  const selector = filters.labelSelector ? parseLabelSelector(filters.labelSelector) : undefined;
  const changed = nonEmptySet(filters.changedPaths);
  const excluded = nonEmptySet(filters.excludeNamespaces);
  const names = compileNameGlobs(filters.names);
  const expression = filters.expression ? compileExpression(filters.expression) : undefined;
  return (e) => {
    if (clusters && !clusters.has(e.cluster)) return false;
    // Cluster-scoped objects have no namespace: a namespace filter excludes them.
    if (namespaces && (e.namespace === undefined || !namespaces.has(e.namespace))) return false;
    // ...but an exclusion never does: they are in no namespace to exclude.
    if (excluded && e.namespace !== undefined && excluded.has(e.namespace)) return false;
    if (names && !names(e.name)) return false;
    if (types && !types.has(e.type)) return false;
    if (resources && !resources.has(e.resource) && !resources.has(qualified(e))) return false;
    // A MODIFIED without changedPaths (its previous version unknown) may have changed anything: delivered.
    if (changed && e.type === "MODIFIED" && e.changedPaths && !e.changedPaths.some((p) => changed.has(p))) return false;
    if (selector) {
      const metadata = e.object.metadata as { labels?: Record<string, string> } | undefined;
      if (!matchesLabels(selector, metadata?.labels)) return false;
    }
    // Last: the dearest check runs only on events every other filter let through.
    if (expression && !evaluated(expression, e, options)) return false;
    return true;
  };
}

/**
 * The values a server's filters pin an event's cluster, namespace and resource to (absent: any),
 * exactly as compileFilters compares them: an event can match only if its value (for resources,
 * either of eventResourceKeys) is in each pinned list. A matching index keys servers by these.
 */
export interface PinnedKeys {
  clusters?: string[];
  namespaces?: string[];
  resources?: string[];
}

export function pinnedKeys(filters: ServerFilters): PinnedKeys {
  const keys: PinnedKeys = {};
  if (filters.clusters && filters.clusters.length > 0) keys.clusters = [...new Set(filters.clusters)];
  if (filters.namespaces && filters.namespaces.length > 0) keys.namespaces = [...new Set(filters.namespaces)];
  if (filters.resources && filters.resources.length > 0)
    keys.resources = [...new Set(filters.resources.map(canonical))];
  return keys;
}

/** The two names a resource filter may give an event's resource: its plural and `group/version/resource`. */
export function eventResourceKeys(e: Pick<Envelope, "group" | "version" | "resource">): [string, string] {
  return [e.resource, qualified(e)];
}

function evaluated(expression: CompiledExpression, e: Envelope, options: FilterOptions): boolean {
  try {
    return expression.evaluate(e);
  } catch (err) {
    options.onExpressionError?.(err as Error, e);
    return false;
  }
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
