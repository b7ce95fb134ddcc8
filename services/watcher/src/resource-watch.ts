import { type Envelope, type EventType, type Logger, type ResourceRef, apiPrefix } from "@mcic/core";
import { backoffDelay, sleep } from "./backoff.js";
import { buildEnvelope, envelopeJson } from "./envelope-builder.js";
import { KubeApiError, type KubeClient, type KubeList, type KubeObject } from "./kube-client.js";
import { LeaseLostError, type ScopeStore } from "./resume-store.js";
import type { Publish, PublishResult, Room } from "./event-publisher.js";
import type { WatcherMetrics } from "./watcher-metrics.js";

interface ApiResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

/** The cluster does not serve the resource (CRD not installed, wrong group or version). */
export class ResourceNotServedError extends Error {}

/** What a watcher remembers of one object, enough to tell changes and deletions after a gap. */
export interface KnownObject {
  rv: string;
  namespace?: string;
  name: string;
  kind: string;
}

export type WatchState = "syncing" | "watching" | "error";

export interface WatchProgress {
  state: WatchState;
  message?: string;
  resourceVersion?: string;
  lastEventAt?: string;
}

export interface ResourceWatchOptions {
  cluster: string;
  client: KubeClient;
  ref: ResourceRef;
  /** Watch one namespace only; all namespaces (or a cluster-scoped resource) when absent. */
  namespace?: string;
  labelSelector?: string;
  /** Resolves once the event is stored in JetStream; a rejection restarts from the last stored. */
  publish: Publish;
  /** Asked before each publish; a promise pauses the watch (and its stream) until it resolves. */
  room?: Room;
  /** Where the watch resumes after a restart; in memory only when absent. */
  store?: ScopeStore;
  onProgress: (p: WatchProgress) => void;
  metrics?: WatcherMetrics;
  logger: Logger;
  pageSize?: number;
  /** Publishes awaited together; order is kept because one connection publishes in sequence. */
  maxInFlight?: number;
  watchTimeoutSeconds?: number;
  now?: () => Date;
}

class Expired extends Error {}

/** One publish in flight and what it changes in our state once stored. */
interface Sent {
  type: EventType;
  uid: string;
  /** What we know of the object afterwards; absent for a deletion. */
  known: KnownObject | undefined;
  /** The watch stream's resourceVersion to resume after, once this is stored. */
  streamRv: string | undefined;
  observedAt: string;
  started: number;
  outcome: PublishResult | Error | undefined;
}

/**
 * List then watch one (cluster, resource, namespace), publishing every change once. On a gap
 * (restart, 410 Gone) it relists and publishes only the difference against what it knows.
 */
export class ResourceWatch {
  readonly #o: Required<Omit<ResourceWatchOptions, "namespace" | "labelSelector" | "store" | "metrics" | "room">> &
    ResourceWatchOptions;
  readonly #known = new Map<string, KnownObject>();
  readonly #abort = new AbortController();
  /** Publishes in order; acks are applied from `#head` on, in this order, as they arrive. */
  #sent: Sent[] = [];
  #head = 0;
  /** Publishes whose outcome is still unknown, applied or not. */
  #outstanding = 0;
  /** The first failed publish: nothing after it is applied until the loop settles and resumes. */
  #failure: Error | undefined;
  #onApplied: (() => void)[] = [];
  #onQuiet: (() => void)[] = [];
  /** Counts settles: what was started before the last one must not be applied after it. */
  #generation = 0;
  /** Changes applied but not yet saved to the store. */
  #dirtySet = new Map<string, KnownObject>();
  #dirtyDel = new Set<string>();
  #saving: Promise<void> | undefined;
  #saveQueued = false;
  #rv: string | undefined;
  #savedRv: string | undefined;
  #kind: string | undefined;
  #running: Promise<void> | undefined;
  #lastEventAt: string | undefined;
  #state: WatchState = "syncing";
  #message: string | undefined;

  constructor(options: ResourceWatchOptions) {
    this.#o = {
      pageSize: 500,
      maxInFlight: 256,
      watchTimeoutSeconds: 240,
      now: () => new Date(),
      ...options,
    };
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Stops watching, after saving where to resume so the next owner continues from here. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  get #path(): string {
    const { ref, namespace } = this.#o;
    return `${apiPrefix(ref)}${namespace ? `/namespaces/${namespace}` : ""}/${ref.resource}`;
  }

  async #loop(): Promise<void> {
    const signal = this.#abort.signal;
    let attempt = 0;
    while (!signal.aborted && this.#o.store) {
      try {
        const state = await this.#o.store.load();
        for (const [uid, k] of state.known) this.#known.set(uid, k);
        this.#rv = state.rv;
        break;
      } catch (err) {
        this.#progress("error", `cannot read resume state: ${(err as Error).message}`);
        await sleep(backoffDelay(attempt++), signal);
      }
    }
    attempt = 0;
    while (!signal.aborted) {
      try {
        if (this.#rv === undefined) {
          this.#progress("syncing");
          await this.#relist(signal);
        }
        this.#progress("watching");
        await this.#watch(signal);
        attempt = 0;
      } catch (err) {
        await this.#settle();
        if (signal.aborted) break;
        if (err instanceof Expired || (err instanceof KubeApiError && err.httpStatus === 410)) {
          this.#o.logger.info({ resourceVersion: this.#rv }, "resource version expired; relisting");
          this.#rv = undefined;
          continue;
        }
        if (err instanceof LeaseLostError) {
          this.#o.logger.warn("lease lost; no more publishing from this replica");
          this.#progress("error", err.message);
          break;
        }
        this.#metric("watchRestarts");
        const delay = backoffDelay(attempt++);
        this.#o.logger.warn({ err: (err as Error).message, retryInMs: delay }, "watch failed");
        this.#progress("error", (err as Error).message);
        await sleep(delay, signal);
      }
    }
    await this.#settle();
    try {
      await this.#save(true);
    } catch (err) {
      this.#o.logger.warn(
        { err: (err as Error).message },
        "saving resume state at stop failed; the next owner relists",
      );
    }
  }

  /** Waits for publishes still in flight; after a failure their outcome no longer matters. */
  async #settle(): Promise<void> {
    this.#generation++;
    if (this.#outstanding > 0) await new Promise<void>((resolve) => this.#onQuiet.push(resolve));
    this.#sent = [];
    this.#head = 0;
    this.#failure = undefined;
  }

  #progress(state: WatchState, message?: string): void {
    this.#state = state;
    this.#message = message;
    this.#o.onProgress(this.progress);
  }

  /** Where this watch stands now: state, last stored resourceVersion, time of the last event. */
  get progress(): WatchProgress {
    const p: WatchProgress = { state: this.#state };
    if (this.#message) p.message = this.#message;
    if (this.#rv) p.resourceVersion = this.#rv;
    if (this.#lastEventAt) p.lastEventAt = this.#lastEventAt;
    return p;
  }

  /**
   * The objects as they are now, listed afresh (not from our state: receivers want full objects),
   * as ADDED envelopes marked `snapshot`. Leaves the watch itself untouched.
   */
  async *current(signal: AbortSignal): AsyncGenerator<Envelope> {
    for await (const page of this.#pages(signal)) {
      const kind = this.#kind ?? page.kind?.replace(/List$/, "") ?? this.#o.ref.resource;
      const observedAt = this.#o.now().toISOString();
      for (const item of page.items) {
        yield { ...buildEnvelope(this.#o.cluster, this.#o.ref, kind, "ADDED", item, observedAt), snapshot: true };
      }
    }
  }

  /** Every page of a paginated list of the watched collection. */
  async *#pages(signal: AbortSignal): AsyncGenerator<KubeList> {
    let token: string | undefined;
    do {
      const page: KubeList = await this.#o.client.getJson(
        this.#path,
        { limit: this.#o.pageSize, continue: token, labelSelector: this.#o.labelSelector },
        signal,
      );
      yield page;
      token = page.metadata.continue || undefined;
    } while (token);
  }

  /** Checks that the cluster serves the resource, and learns its kind. */
  async #discover(signal: AbortSignal): Promise<void> {
    const { ref } = this.#o;
    let list: ApiResourceList;
    try {
      list = await this.#o.client.getJson<ApiResourceList>(apiPrefix(ref), {}, signal);
    } catch (err) {
      if (err instanceof KubeApiError && err.httpStatus === 404) {
        throw new ResourceNotServedError(`API ${apiPrefix(ref).slice(1)} is not served by this cluster`);
      }
      throw err;
    }
    const found = list.resources.find((r) => r.name === ref.resource);
    if (!found) {
      throw new ResourceNotServedError(
        `resource "${ref.resource}" is not served by ${apiPrefix(ref).slice(1)} in this cluster`,
      );
    }
    this.#kind = found.kind;
  }

  async #relist(signal: AbortSignal): Promise<void> {
    if (this.#kind === undefined) await this.#discover(signal);
    this.#metric("relists");
    const seen = new Map<string, KubeObject>();
    let listRv = "";
    for await (const page of this.#pages(signal)) {
      this.#kind ??= page.kind?.replace(/List$/, "");
      for (const item of page.items) seen.set(item.metadata.uid, item);
      listRv = page.metadata.resourceVersion;
    }
    const kind = this.#kind ?? this.#o.ref.resource;

    for (const [uid, obj] of seen) {
      const known = this.#known.get(uid);
      if (known?.rv === obj.metadata.resourceVersion) continue;
      await this.#emit(known ? "MODIFIED" : "ADDED", { ...obj, kind }, kind);
    }
    // Objects we knew that the list no longer has were deleted while nobody watched.
    for (const [uid, known] of [...this.#known]) {
      if (seen.has(uid)) continue;
      const metadata: KubeObject["metadata"] = { name: known.name, uid, resourceVersion: known.rv };
      if (known.namespace) metadata.namespace = known.namespace;
      await this.#emit("DELETED", { metadata }, known.kind);
    }
    await this.#flush();
    this.#rv = listRv;
    this.#scheduleSave();
  }

  async #watch(signal: AbortSignal): Promise<void> {
    await this.#o.client.watch(
      this.#path,
      {
        resourceVersion: this.#rv,
        allowWatchBookmarks: true,
        labelSelector: this.#o.labelSelector,
        // Spread stream ends so thousands of watches do not reconnect in the same second.
        timeoutSeconds: Math.round(this.#o.watchTimeoutSeconds * (0.8 + Math.random() * 0.4)),
      },
      signal,
      (ev, rawObject) => {
        if (ev.type === "ERROR") {
          if (ev.object.code === 410) throw new Expired(ev.object.message ?? "expired");
          throw new KubeApiError(ev.object.code ?? 500, ev.object.message ?? "watch error");
        }
        if (ev.type === "BOOKMARK") return this.#bookmark(ev.object.metadata.resourceVersion);
        const kind = ev.object.kind ?? this.#kind ?? this.#o.ref.resource;
        return this.#emit(ev.type, ev.object, kind, ev.object.metadata.resourceVersion, rawObject);
      },
    );
    await this.#flush();
  }

  /** Moves the resume point to a bookmark once everything before it is stored. */
  async #bookmark(rv: string): Promise<void> {
    await this.#flush();
    this.#rv = rv;
    this.#scheduleSave();
  }

  /**
   * Starts publishing one change; what it means for our state is applied once it is stored.
   * Returns a promise only when the watch must wait (too many publishes in flight).
   */
  #emit(
    type: EventType,
    obj: KubeObject,
    kind: string,
    streamRv?: string,
    rawObject?: Buffer,
  ): undefined | Promise<void> {
    if (this.#failure) throw this.#failure;
    const room = this.#o.room?.();
    if (room) {
      // A change held back across a failure or stop belongs to a stream that is gone: the next
      // one delivers it again, and applying it late could move the resume point past a gap.
      const generation = this.#generation;
      return room.then(() =>
        generation === this.#generation ? this.#emit(type, obj, kind, streamRv, rawObject) : undefined,
      );
    }
    const envelope = buildEnvelope(this.#o.cluster, this.#o.ref, kind, type, obj, this.#o.now().toISOString());
    const { uid, resourceVersion, name, namespace } = obj.metadata;
    const entry: Sent = {
      type,
      uid,
      known:
        type === "DELETED"
          ? undefined
          : namespace
            ? { rv: resourceVersion, namespace, name, kind }
            : { rv: resourceVersion, name, kind },
      streamRv,
      observedAt: envelope.observedAt,
      started: performance.now(),
      outcome: undefined,
    };
    this.#sent.push(entry);
    this.#outstanding++;
    this.#o.publish(envelope, envelopeJson(envelope, obj, rawObject)).then(
      (result) => this.#stored(entry, result),
      (err: unknown) => this.#stored(entry, err instanceof Error ? err : new Error(String(err))),
    );
    if (this.#sent.length - this.#head >= this.#o.maxInFlight) return this.#flush();
    return undefined;
  }

  /** Applies every ack at the head of the line, in publish order, up to the first still unknown. */
  #stored(entry: Sent, outcome: PublishResult | Error): void {
    entry.outcome = outcome;
    this.#outstanding--;
    if (!this.#failure) {
      const m = this.#o.metrics;
      let applied = false;
      while (this.#head < this.#sent.length) {
        const e = this.#sent[this.#head] as Sent;
        if (e.outcome === undefined) break;
        this.#head++;
        if (e.outcome instanceof Error) {
          this.#failure = e.outcome;
          break;
        }
        applied = true;
        if (m) {
          this.#counter(e.outcome.duplicate ? "duplicates" : "published", e.type).inc();
          m.lag.observe((performance.now() - e.started) / 1000);
        }
        if (e.known) {
          this.#known.set(e.uid, e.known);
          this.#dirtySet.set(e.uid, e.known);
          this.#dirtyDel.delete(e.uid);
        } else {
          this.#known.delete(e.uid);
          this.#dirtySet.delete(e.uid);
          this.#dirtyDel.add(e.uid);
        }
        if (e.streamRv) this.#rv = e.streamRv;
        this.#lastEventAt = e.observedAt;
      }
      if (this.#head === this.#sent.length) {
        this.#sent = [];
        this.#head = 0;
      }
      if (applied) this.#scheduleSave();
      if (this.#failure || this.#head === this.#sent.length) for (const wake of this.#onApplied.splice(0)) wake();
    }
    if (this.#outstanding === 0) for (const wake of this.#onQuiet.splice(0)) wake();
  }

  /** Label sets resolved once per watch: prom-client hashes a label object on every call. */
  readonly #counters = new Map<string, { inc(): void }>();

  #counter(name: "published" | "duplicates", type: EventType): { inc(): void } {
    const key = `${name}/${type}`;
    let child = this.#counters.get(key);
    if (!child) {
      child = (this.#o.metrics as WatcherMetrics)[name].labels(this.#o.cluster, this.#o.ref.resource, type);
      this.#counters.set(key, child);
    }
    return child;
  }

  #metric(name: "relists" | "watchRestarts"): void {
    this.#o.metrics?.[name].inc({ cluster: this.#o.cluster, resource: this.#o.ref.resource });
  }

  /** Resolves when every publish so far is stored; throws the first publish failure. */
  async #flush(): Promise<void> {
    if (!this.#failure && this.#head < this.#sent.length) {
      await new Promise<void>((resolve) => this.#onApplied.push(resolve));
    }
    if (this.#failure) throw this.#failure;
  }

  /**
   * At most one save is in flight; the next carries everything applied meanwhile. The store
   * gathers the saves of all the cluster's watches into one write (see ClusterResumeStore).
   */
  #scheduleSave(): void {
    if (!this.#o.store || this.#saveQueued) return;
    this.#saveQueued = true;
    queueMicrotask(() => {
      this.#saveQueued = false;
      this.#save().catch((err: unknown) => {
        if (err instanceof LeaseLostError) this.#abort.abort();
        this.#o.logger.warn({ err: (err as Error).message }, "saving resume state failed");
      });
    });
  }

  /**
   * `now`: write without waiting for the cluster's batch. The first resume point goes at once:
   * without one, a restart could only relist and call everything new; and so does the last, at stop.
   */
  async #save(now = this.#savedRv === undefined): Promise<void> {
    const store = this.#o.store;
    if (!store) return;
    while (this.#saving) await this.#saving;
    if (
      this.#rv === undefined ||
      (this.#dirtySet.size === 0 && this.#dirtyDel.size === 0 && this.#savedRv === this.#rv)
    )
      return;
    const set = this.#dirtySet;
    const del = this.#dirtyDel;
    const rv = this.#rv;
    this.#dirtySet = new Map();
    this.#dirtyDel = new Set();
    this.#saving = store.save(set, del, rv, now).then(
      () => {
        this.#savedRv = rv;
      },
      (err: unknown) => {
        // Put the changes back (newer ones win) so the next save carries them.
        for (const [uid, k] of set)
          if (!this.#dirtySet.has(uid) && !this.#dirtyDel.has(uid)) this.#dirtySet.set(uid, k);
        for (const uid of del) if (!this.#dirtySet.has(uid)) this.#dirtyDel.add(uid);
        throw err;
      },
    );
    try {
      await this.#saving;
    } finally {
      this.#saving = undefined;
    }
  }
}
