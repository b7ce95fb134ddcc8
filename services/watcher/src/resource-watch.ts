import { type Envelope, type EventType, type KubeObject, type Logger, type ResourceRef, apiPrefix } from "@mcic/core";
import { backoffDelay, sleep } from "./backoff.js";
import { buildEnvelope, envelopeJson } from "./envelope-builder.js";
import type { Publish, PublishResult, Room } from "./event-publisher.js";
import { KubeApiError, type KubeClient, type KubeList } from "./kube-client.js";
import { OrderedAcks } from "./ordered-acks.js";
import { discoverKind } from "./resource-discovery.js";
import { relistChanges } from "./relist-changes.js";
import { ResumeBatcher } from "./resume-batcher.js";
import { type KnownObject, LeaseLostError, type ScopeStore } from "./resume-store.js";
import type { WatchProgress, WatchState } from "./watch-progress.js";
import { WatchMetrics, type WatcherMetrics } from "./watcher-metrics.js";

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
  readonly #acks = new OrderedAcks<Sent, PublishResult>({
    applied: (sent, result) => this.#applied(sent, result),
    afterRun: () => this.#resume?.schedule(),
  });
  /** Absent when the watch resumes from memory only. */
  readonly #resume: ResumeBatcher | undefined;
  readonly #metrics: WatchMetrics | undefined;
  #rv: string | undefined;
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
    this.#metrics = options.metrics && new WatchMetrics(options.metrics, options.cluster, options.ref.resource);
    this.#resume =
      options.store &&
      new ResumeBatcher(
        options.store,
        () => this.#rv,
        (err) => {
          if (err instanceof LeaseLostError) this.#abort.abort();
          this.#o.logger.warn({ err: err.message }, "saving resume state failed");
        },
      );
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
        await this.#acks.settle();
        if (signal.aborted) break;
        if (err instanceof KubeApiError && err.httpStatus === 410) {
          this.#o.logger.info({ resourceVersion: this.#rv }, "resource version expired; relisting");
          this.#rv = undefined;
          continue;
        }
        // A fenced publish (lease renewal late) is retried like any failure, never taken as the
        // end: only the supervisor knows whether the lease is gone, and it stops this watch then.
        // Ending here left a cluster unwatched for good whenever the renewal came late but
        // succeeded. A lease Redis says is lost aborts the signal (see the batcher).
        this.#metrics?.restarted();
        const delay = backoffDelay(attempt++);
        this.#o.logger.warn({ err: (err as Error).message, retryInMs: delay }, "watch failed");
        this.#progress("error", (err as Error).message);
        await sleep(delay, signal);
      }
    }
    await this.#acks.settle();
    try {
      await this.#resume?.save(true);
    } catch (err) {
      this.#o.logger.warn(
        { err: (err as Error).message },
        "saving resume state at stop failed; the next owner relists",
      );
    }
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
  async *current(signal: AbortSignal, onListVersion?: (rv: string) => void): AsyncGenerator<Envelope> {
    let first = true;
    for await (const page of this.#pages(signal)) {
      // Every page of a paginated list is served at the first page's resourceVersion.
      if (first && page.metadata.resourceVersion) onListVersion?.(page.metadata.resourceVersion);
      first = false;
      const kind = this.#kind ?? page.kind?.replace(/List$/, "") ?? this.#o.ref.resource;
      const observedAt = this.#o.now().toISOString();
      for (const item of page.items) {
        yield { ...buildEnvelope(this.#o.cluster, this.#o.ref, kind, "ADDED", item, observedAt), snapshot: true };
      }
    }
  }

  /** Every page of a paginated list of the watched collection. */
  #pages(signal: AbortSignal): AsyncGenerator<KubeList> {
    return this.#o.client.list(this.#path, { limit: this.#o.pageSize, labelSelector: this.#o.labelSelector }, signal);
  }

  async #relist(signal: AbortSignal): Promise<void> {
    this.#kind ??= await discoverKind(this.#o.client, this.#o.ref, signal);
    this.#metrics?.relisted();
    const seen = new Map<string, KubeObject>();
    let listRv = "";
    for await (const page of this.#pages(signal)) {
      this.#kind ??= page.kind?.replace(/List$/, "");
      for (const item of page.items) seen.set(item.metadata.uid, item);
      listRv = page.metadata.resourceVersion;
    }
    for (const change of relistChanges(seen, this.#known, this.#kind ?? this.#o.ref.resource)) {
      await this.#emit(change.type, change.object, change.kind);
    }
    await this.#acks.flush();
    this.#rv = listRv;
    this.#resume?.schedule();
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
        // A 410 here, like a 410 answer, means the resourceVersion is gone: the loop relists.
        if (ev.type === "ERROR") throw new KubeApiError(ev.object.code ?? 500, ev.object.message ?? "watch error");
        if (ev.type === "BOOKMARK") return this.#bookmark(ev.object.metadata.resourceVersion);
        const kind = ev.object.kind ?? this.#kind ?? this.#o.ref.resource;
        return this.#emit(ev.type, ev.object, kind, ev.object.metadata.resourceVersion, rawObject);
      },
    );
    await this.#acks.flush();
  }

  /** Moves the resume point to a bookmark once everything before it is stored. */
  async #bookmark(rv: string): Promise<void> {
    await this.#acks.flush();
    this.#rv = rv;
    this.#resume?.schedule();
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
    this.#acks.check();
    const room = this.#o.room?.();
    if (room) {
      // A change held back across a failure or stop belongs to a stream that is gone: the next
      // one delivers it again, and applying it late could move the resume point past a gap.
      const generation = this.#acks.generation;
      return room.then(() =>
        generation === this.#acks.generation ? this.#emit(type, obj, kind, streamRv, rawObject) : undefined,
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
    };
    this.#acks.add(entry, this.#o.publish(envelope, envelopeJson(envelope, obj, rawObject)));
    if (this.#acks.waiting >= this.#o.maxInFlight) return this.#acks.flush();
    return undefined;
  }

  /** What a stored change means for our state; called in publish order. */
  #applied(e: Sent, result: PublishResult): void {
    this.#metrics?.stored(e.type, result.duplicate, e.started);
    if (e.known) {
      this.#known.set(e.uid, e.known);
      this.#resume?.known(e.uid, e.known);
    } else {
      this.#known.delete(e.uid);
      this.#resume?.deleted(e.uid);
    }
    if (e.streamRv) this.#rv = e.streamRv;
    this.#lastEventAt = e.observedAt;
  }
}
