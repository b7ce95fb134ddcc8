import { type LabelSelector, matchesLabels, parseLabelSelector } from "@mcic/core";
import type { Change, EventType } from "./history.js";
import type { KubeObject } from "./kube-object.js";
import { badRequest } from "./status-error.js";

const FIELDS = {
  "metadata.name": (o: KubeObject) => o.metadata.name,
  "metadata.namespace": (o: KubeObject) => o.metadata.namespace ?? "",
};
type Field = keyof typeof FIELDS;

interface FieldRequirement {
  field: Field;
  equal: boolean;
  value: string;
}

/** Which objects a list or watch wants: its namespace path and its label and field selectors. */
export interface ObjectFilter {
  namespace: string | undefined;
  labels: LabelSelector;
  fields: FieldRequirement[];
}

export function parseFilter(query: URLSearchParams, namespace: string | undefined): ObjectFilter {
  let labels: LabelSelector;
  try {
    labels = parseLabelSelector(query.get("labelSelector") ?? "");
  } catch (err) {
    throw badRequest(`unable to parse requirement: ${(err as Error).message}`);
  }
  const fields = (query.get("fieldSelector") ?? "")
    .split(",")
    .filter((part) => part.trim() !== "")
    .map((part): FieldRequirement => {
      const m = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(\S*)\s*$/.exec(part);
      if (!m) throw badRequest(`invalid selector: '${part}'; can't understand '${part}'`);
      const field = m[1] as string;
      if (!Object.hasOwn(FIELDS, field)) {
        throw badRequest(`"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
      }
      return { field: field as Field, equal: m[2] !== "!=", value: m[3] ?? "" };
    });
  return { namespace, labels, fields };
}

export function matches(filter: ObjectFilter, o: KubeObject): boolean {
  if (filter.namespace !== undefined && o.metadata.namespace !== filter.namespace) return false;
  for (const f of filter.fields) if ((FIELDS[f.field](o) === f.value) !== f.equal) return false;
  return matchesLabels(filter.labels, o.metadata.labels);
}

/**
 * What a filtered watch sees of a change, as the apiserver's watch cache decides it: a change that
 * brings an object into the filter is ADDED, one that takes it out is DELETED (the old content at
 * the change's resourceVersion), and changes outside the filter are not seen at all.
 */
export function eventFor(filter: ObjectFilter, change: Change): { type: EventType; object: KubeObject } | undefined {
  const { type, object, prev } = change;
  if (type !== "MODIFIED") return matches(filter, object) ? { type, object } : undefined;
  const now = matches(filter, object);
  const before = prev !== undefined && matches(filter, prev);
  if (now) return { type: before ? "MODIFIED" : "ADDED", object };
  if (!before || !prev) return undefined;
  return {
    type: "DELETED",
    object: { ...prev, metadata: { ...prev.metadata, resourceVersion: object.metadata.resourceVersion } },
  };
}
