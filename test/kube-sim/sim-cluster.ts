import { randomUUID } from "node:crypto";
import { type LabelSelector, matchesLabels } from "@mcic/core";
import { BUILT_IN, type ResourceDef, apiVersionOf, resourceKey } from "./resources.js";

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    generation?: number;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

interface HistoryEntry {
  rv: number;
  key: string;
  type: EventType;
  object: KubeObject;
}

/** What a watch asked for; the simulator calls `send` for every matching change. */
export interface WatchSubscription {
  namespace?: string;
  selector: LabelSelector;
  fieldName?: string;
  send(type: EventType, object: KubeObject): void;
}

/** A Kubernetes API error with the Status object the real apiserver sends. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
  toStatus() {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
  }
}

/**
 * One simulated cluster: objects per resource, a single resourceVersion counter (as etcd has),
 * a bounded history for resuming watches, and the live watch subscriptions.
 */
export class SimCluster {
  readonly name: string;
  readonly url: string;
  readonly #defs = new Map<string, ResourceDef>();
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #watches = new Map<string, Set<WatchSubscription>>();
  readonly #history: HistoryEntry[] = [];
  readonly #historyLimit: number;
  #rv = 1;
  /** Resource versions at or below this are gone from history: resuming from them is 410. */
  #compactedRv = 0;
  /** Called by the server to end open watch streams (closeWatches). */
  onCloseWatches: (() => void) | undefined;

  constructor(name: string, url: string, historyLimit: number, builtIns: boolean) {
    this.name = name;
    this.url = url;
    this.#historyLimit = historyLimit;
    if (builtIns) for (const def of BUILT_IN) this.registerResource(def);
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }
  get compactedRv(): number {
    return this.#compactedRv;
  }

  registerResource(def: ResourceDef): void {
    const key = resourceKey(def);
    this.#defs.set(key, def);
    if (!this.#objects.has(key)) this.#objects.set(key, new Map());
  }

  definitions(): ResourceDef[] {
    return [...this.#defs.values()];
  }

  /** Finds a resource by "group/version/resource", "v1/resource", or an unambiguous plural. */
  def(resource: string): ResourceDef {
    const direct = this.#defs.get(resource.startsWith("core/") ? resource.slice(5) : resource);
    if (direct) return direct;
    const byPlural = [...this.#defs.values()].filter((d) => d.resource === resource);
    if (byPlural.length === 1 && byPlural[0]) return byPlural[0];
    throw new StatusError(404, "NotFound", `the server could not find the requested resource (${resource})`);
  }

  #store(def: ResourceDef): Map<string, KubeObject> {
    return this.#objects.get(resourceKey(def)) as Map<string, KubeObject>;
  }

  #objectKey(def: ResourceDef, namespace: string | undefined, name: string): string {
    return def.namespaced ? `${namespace ?? ""}/${name}` : name;
  }

  #record(def: ResourceDef, type: EventType, object: KubeObject): void {
    const key = resourceKey(def);
    this.#history.push({ rv: Number(object.metadata.resourceVersion), key, type, object });
    if (this.#history.length > this.#historyLimit) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historyLimit);
      this.#compactedRv = dropped.at(-1)?.rv ?? this.#compactedRv;
    }
    for (const w of this.#watches.get(key) ?? []) if (matches(w, object)) w.send(type, object);
  }

  #normalize(def: ResourceDef, obj: Record<string, any>): KubeObject {
    if (
      !obj ||
      typeof obj !== "object" ||
      !obj.metadata ||
      typeof obj.metadata.name !== "string" ||
      !obj.metadata.name
    ) {
      throw new StatusError(422, "Invalid", "metadata.name: Required value");
    }
    if (def.namespaced && !obj.metadata.namespace)
      throw new StatusError(422, "Invalid", "metadata.namespace: Required value");
    const copy = structuredClone(obj) as KubeObject;
    copy.apiVersion = apiVersionOf(def);
    copy.kind = def.kind;
    if (!def.namespaced) delete copy.metadata.namespace;
    return copy;
  }

  create(resource: string, obj: object): KubeObject {
    const def = this.def(resource);
    const o = this.#normalize(def, obj as Record<string, any>);
    const store = this.#store(def);
    const key = this.#objectKey(def, o.metadata.namespace, o.metadata.name);
    if (store.has(key))
      throw new StatusError(409, "AlreadyExists", `${def.resource} "${o.metadata.name}" already exists`);
    o.metadata.uid = randomUUID();
    o.metadata.resourceVersion = String(++this.#rv);
    o.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    o.metadata.generation = 1;
    store.set(key, o);
    this.#record(def, "ADDED", o);
    return structuredClone(o);
  }

  update(resource: string, obj: object): KubeObject {
    const def = this.def(resource);
    const o = this.#normalize(def, obj as Record<string, any>);
    const store = this.#store(def);
    const key = this.#objectKey(def, o.metadata.namespace, o.metadata.name);
    const current = store.get(key);
    if (!current) throw new StatusError(404, "NotFound", `${def.resource} "${o.metadata.name}" not found`);
    const given = (obj as KubeObject).metadata.resourceVersion;
    if (given && given !== current.metadata.resourceVersion) {
      throw new StatusError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${def.resource} "${o.metadata.name}": the object has been modified`,
      );
    }
    o.metadata.uid = current.metadata.uid;
    o.metadata.creationTimestamp = current.metadata.creationTimestamp;
    const specChanged = JSON.stringify(o.spec) !== JSON.stringify(current.spec);
    o.metadata.generation = (current.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    o.metadata.resourceVersion = String(++this.#rv);
    store.set(key, o);
    this.#record(def, "MODIFIED", o);
    return structuredClone(o);
  }

  delete(resource: string, namespace: string | undefined, name: string): KubeObject {
    const def = this.def(resource);
    const store = this.#store(def);
    const key = this.#objectKey(def, namespace, name);
    const current = store.get(key);
    if (!current) throw new StatusError(404, "NotFound", `${def.resource} "${name}" not found`);
    store.delete(key);
    const gone = structuredClone(current);
    gone.metadata.resourceVersion = String(++this.#rv);
    this.#record(def, "DELETED", gone);
    return structuredClone(gone);
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const def = this.def(resource);
    const o = this.#store(def).get(this.#objectKey(def, namespace, name));
    return o ? structuredClone(o) : undefined;
  }

  list(resource: string, namespace?: string): KubeObject[] {
    const def = this.def(resource);
    return [...this.#store(def).values()]
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .sort(byNamespaceName)
      .map((o) => structuredClone(o));
  }

  /** Objects for a list or an initial watch, sorted, without copying. */
  select(def: ResourceDef, filter: Omit<WatchSubscription, "send">): KubeObject[] {
    return [...this.#store(def).values()].filter((o) => matches(filter, o)).sort(byNamespaceName);
  }

  /** History entries after `rv` for a resource; undefined when they are no longer kept (410). */
  since(def: ResourceDef, rv: number): HistoryEntry[] | undefined {
    if (rv < this.#compactedRv) return undefined;
    const key = resourceKey(def);
    return this.#history.filter((h) => h.rv > rv && h.key === key);
  }

  subscribe(def: ResourceDef, sub: WatchSubscription): () => void {
    const key = resourceKey(def);
    let set = this.#watches.get(key);
    if (!set) {
      set = new Set();
      this.#watches.set(key, set);
    }
    set.add(sub);
    return () => set.delete(sub);
  }

  compact(): void {
    this.#history.length = 0;
    this.#compactedRv = this.#rv;
  }

  closeWatches(): void {
    this.onCloseWatches?.();
  }
}

export function matches(f: Omit<WatchSubscription, "send">, o: KubeObject): boolean {
  if (f.namespace !== undefined && o.metadata.namespace !== f.namespace) return false;
  if (f.fieldName !== undefined && o.metadata.name !== f.fieldName) return false;
  return matchesLabels(f.selector, o.metadata.labels);
}

function byNamespaceName(a: KubeObject, b: KubeObject): number {
  const ka = `${a.metadata.namespace ?? ""}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace ?? ""}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
