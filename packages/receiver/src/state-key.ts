/** What a state key is made of; `group` is "" for the core group, `namespace` "" for cluster-scoped objects. */
export interface StateKeyParts {
  cluster: string;
  group: string;
  resource: string;
  namespace: string;
  name: string;
}

/** `cluster/group/resource/namespace/name` (none of the parts can hold a `/`: the event schema refuses it). */
export function stateKey(p: StateKeyParts): string {
  return `${p.cluster}/${p.group}/${p.resource}/${p.namespace}/${p.name}`;
}

export function parseStateKey(key: string): StateKeyParts {
  const parts = key.split("/");
  if (parts.length !== 5) throw new TypeError(`not a state key: ${key}`);
  const [cluster = "", group = "", resource = "", namespace = "", name = ""] = parts;
  return { cluster, group, resource, namespace, name };
}

/** `cluster/group/resource`: the objects one snapshot completion covers. */
export function scopeOf(p: Pick<StateKeyParts, "cluster" | "group" | "resource">): string {
  return `${p.cluster}/${p.group}/${p.resource}`;
}

export function scopeOfKey(key: string): string {
  return key.slice(0, key.indexOf("/", key.indexOf("/", key.indexOf("/") + 1) + 1));
}
