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
    if (selector) {
      const metadata = e.object.metadata as { labels?: Record<string, string> } | undefined;
      if (!matchesLabels(selector, metadata?.labels)) return false;
    }
    // Last: the dearest check runs only on events every other filter let through.
    if (expression && !evaluated(expression, e, options)) return false;
    return true;
  };
}

function evaluated(expression: CompiledExpression, e: Envelope, options: FilterOptions): boolean {
  try {
    return expression.evaluate(e);
  } catch (err) {
    options.onExpressionError?.(err as Error, e);
    return false;
  }
}

function qualified(e: Envelope): string {
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
