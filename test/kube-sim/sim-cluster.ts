import { randomBytes, randomUUID } from "node:crypto";
import { type Change, type EventType, History } from "./history.js";
import { type KubeObject, eventLine, keyOf, objectKey } from "./kube-object.js";
import { BUILT_IN, type ResourceDef, apiVersionOf, resourceKey } from "./resources.js";
import { type ObjectFilter, eventFor } from "./selectors.js";
import { StatusError, expired, notFound } from "./status-error.js";

/** An open watch stream, as the cluster sees it. */
export interface Watcher {
  filter: ObjectFilter;
  /** Takes one serialized event line. */
  send(line: string): void;
  /** Ends the stream: cleanly (as a server-side timeout does) or by dropping the connection. */
  close(graceful: boolean): void;
}

export interface SimClusterOptions {
  historyLimit: number;
  builtIns: boolean;
}

const invalid = (message: string) => new StatusError(422, "Invalid", message);
const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/**
 * One simulated cluster: objects per resource, one resourceVersion counter for all of them (as
 * etcd has), a bounded history for resuming watches and serving consistent pages, and the open
 * watches indexed by resource so a write only visits the watches of its own resource.
 */
export class SimCluster {
  readonly name: string;
  readonly url: string;
  readonly #defs = new Map<string, ResourceDef>();
  readonly #stores = new Map<string, Map<string, KubeObject>>();
  readonly #watchers = new Map<string, Set<Watcher>>();
  readonly #history: History;
  #rv = 1;

  constructor(name: string, url: string, options: SimClusterOptions) {
    this.name = name;
    this.url = url;
    this.#history = new History(options.historyLimit);
    if (options.builtIns) for (const def of BUILT_IN) this.registerResource(def);
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Resuming a watch or a paged list from a resourceVersion below this is 410 Expired. */
  get compactedRv(): number {
    return this.#history.compactedRv;
  }

  registerResource(def: ResourceDef): void {
    this.#defs.set(resourceKey(def), { ...def });
  }

  definitions(): ResourceDef[] {
    return [...this.#defs.values()];
  }

  lookup(group: string, version: string, resource: string): ResourceDef | undefined {
    return this.#defs.get(resourceKey({ group, version, resource }));
  }

  /** "group/version/resource", "v1/resource" ("core/v1/..." too), or a plural that names one resource. */
  resolve(resource: string): ResourceDef {
    const direct = this.#defs.get(resource.startsWith("core/") ? resource.slice(5) : resource);
    if (direct) return direct;
    const byPlural = [...this.#defs.values()].filter((d) => d.resource === resource);
    if (byPlural.length === 1 && byPlural[0]) return byPlural[0];
    throw notFound(resource);
  }

  create(resource: string, obj: object): KubeObject {
    const def = this.resolve(resource);
    const o = this.#accept(def, obj, true);
    const key = keyOf(o);
    if (this.#store(def).has(key)) {
      throw new StatusError(409, "AlreadyExists", `${def.resource} "${o.metadata.name}" already exists`);
    }
    delete o.metadata.generateName;
    Object.assign(o.metadata, {
      uid: randomUUID(),
      resourceVersion: String(++this.#rv),
      creationTimestamp: now(),
      generation: 1,
    });
    this.#commit(def, "ADDED", o, undefined);
    return structuredClone(o);
  }

  /** Replaces an object; a stale metadata.resourceVersion in `obj` is a 409 Conflict. */
  update(resource: string, obj: object): KubeObject {
    const def = this.resolve(resource);
    const o = this.#accept(def, obj, false);
    const current = this.#store(def).get(keyOf(o));
    if (!current) throw new StatusError(404, "NotFound", `${def.resource} "${o.metadata.name}" not found`);
    const given = o.metadata.resourceVersion;
    if (given && given !== current.metadata.resourceVersion) {
      throw new StatusError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${def.resource} "${o.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const specChanged = JSON.stringify(o.spec) !== JSON.stringify(current.spec);
    Object.assign(o.metadata, {
      uid: current.metadata.uid,
      creationTimestamp: current.metadata.creationTimestamp,
      generation: (current.metadata.generation ?? 1) + (specChanged ? 1 : 0),
      resourceVersion: String(++this.#rv),
    });
    this.#commit(def, "MODIFIED", o, current);
    return structuredClone(o);
  }

  delete(resource: string, namespace: string | undefined, name: string): KubeObject {
    const def = this.resolve(resource);
    const current = this.#store(def).get(objectKey(def.namespaced ? namespace : undefined, name));
    if (!current) throw new StatusError(404, "NotFound", `${def.resource} "${name}" not found`);
    // The DELETED event carries the last state with the deletion's own resourceVersion.
    const gone: KubeObject = { ...current, metadata: { ...current.metadata, resourceVersion: String(++this.#rv) } };
    this.#commit(def, "DELETED", gone, current);
    return structuredClone(gone);
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const def = this.resolve(resource);
    const o = this.#stores.get(resourceKey(def))?.get(objectKey(def.namespaced ? namespace : undefined, name));
    return o ? structuredClone(o) : undefined;
  }

  list(resource: string, namespace?: string): KubeObject[] {
    return this.snapshot(this.resolve(resource))
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .map((o) => structuredClone(o));
  }

  /**
   * A resource's objects sorted by namespace/name, as they were at `rv` (now when undefined):
   * later changes are undone from history, which is how every page of a list shows the same
   * snapshot. 410 once history no longer reaches back that far. The objects are the stored
   * ones: read them, never change them.
   */
  snapshot(def: ResourceDef, rv?: number): KubeObject[] {
    const live = this.#stores.get(resourceKey(def)) ?? new Map<string, KubeObject>();
    let state = live;
    if (rv !== undefined && rv < this.#rv) {
      const later = this.changesSince(def, rv);
      if (!later) throw expired(`too old resource version: ${rv} (${this.compactedRv})`);
      if (later.length > 0) state = new Map(live);
      for (const c of later.reverse()) {
        if (c.prev) state.set(keyOf(c.prev), c.prev);
        else state.delete(keyOf(c.object));
      }
    }
    return [...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  /** This resource's changes after `rv`, oldest first; undefined when history no longer has them all. */
  changesSince(def: ResourceDef, rv: number): Change[] | undefined {
    const key = resourceKey(def);
    return this.#history.since(rv)?.filter((c) => c.resource === key);
  }

  /** Subscribes a watch to live changes of one resource; returns the unsubscribe function. */
  watch(def: ResourceDef, watcher: Watcher): () => void {
    const key = resourceKey(def);
    let set = this.#watchers.get(key);
    if (!set) {
      set = new Set();
      this.#watchers.set(key, set);
    }
    set.add(watcher);
    return () => {
      set.delete(watcher);
      if (set.size === 0 && this.#watchers.get(key) === set) this.#watchers.delete(key);
    };
  }

  /** How many watch streams of this resource are open now (a benchmark explaining a stall asks). */
  openWatches(resource: string): number {
    return this.#watchers.get(resourceKey(this.resolve(resource)))?.size ?? 0;
  }

  /** Drops all watch history: resuming a watch or a paged list from an older resourceVersion gets 410. */
  compact(): void {
    this.#history.compact(this.#rv);
  }

  /**
   * Ends every open watch stream of this cluster. By default the connection is dropped mid-stream
   * (what a crashed apiserver or a broken network does); `graceful` ends the stream cleanly instead,
   * as the apiserver does when a watch times out.
   */
  closeWatches(options: { graceful?: boolean } = {}): void {
    for (const set of [...this.#watchers.values()]) for (const w of [...set]) w.close(options.graceful ?? false);
  }

  #store(def: ResourceDef): Map<string, KubeObject> {
    const key = resourceKey(def);
    let store = this.#stores.get(key);
    if (!store) {
      store = new Map();
      this.#stores.set(key, store);
    }
    return store;
  }

  /** Validates a client's object and returns a private copy stamped with the resource's kind. */
  #accept(def: ResourceDef, obj: object, creating: boolean): KubeObject {
    const o = structuredClone(obj) as Partial<KubeObject>;
    const meta = o?.metadata;
    if (!meta || typeof meta !== "object") throw invalid("metadata: Required value");
    if (creating && !meta.name && typeof meta.generateName === "string" && meta.generateName) {
      meta.name = `${meta.generateName}${randomBytes(4).toString("hex").slice(0, 5)}`;
    }
    if (typeof meta.name !== "string" || !meta.name)
      throw invalid("metadata.name: Required value: name or generateName is required");
    if (def.namespaced && (typeof meta.namespace !== "string" || !meta.namespace)) {
      throw invalid("metadata.namespace: Required value");
    }
    if (!def.namespaced) delete meta.namespace;
    // The resource decides apiVersion and kind, whatever the client wrote; put first, as kubectl shows them.
    const { apiVersion: _a, kind: _k, ...rest } = o;
    return { apiVersion: apiVersionOf(def), kind: def.kind, ...rest } as KubeObject;
  }

  #commit(def: ResourceDef, type: EventType, object: KubeObject, prev: KubeObject | undefined): void {
    const resource = resourceKey(def);
    const store = this.#store(def);
    if (type === "DELETED") store.delete(keyOf(object));
    else store.set(keyOf(object), object);
    const change: Change = { rv: this.#rv, resource, type, object, prev };
    this.#history.push(change);
    // Serialize each event once, however many watches see it (at most three shapes per change).
    const lines = new Map<EventType, string>();
    for (const w of this.#watchers.get(resource) ?? []) {
      const event = eventFor(w.filter, change);
      if (!event) continue;
      let line = lines.get(event.type);
      if (line === undefined) {
        line = eventLine(event.type, event.object);
        lines.set(event.type, line);
      }
      w.send(line);
    }
  }
}
