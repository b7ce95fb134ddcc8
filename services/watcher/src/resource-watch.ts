import { type Envelope, type EventType, type Logger, type ResourceRef, apiPrefix } from "@mcic/core";
import { backoffDelay, sleep } from "./backoff.js";
import { buildEnvelope } from "./envelope-builder.js";
import { KubeApiError, type KubeClient, type KubeList, type KubeObject } from "./kube-client.js";

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
  publish: (e: Envelope) => Promise<void>;
  onProgress: (p: WatchProgress) => void;
  logger: Logger;
  pageSize?: number;
  /** Publishes awaited together; order is kept because one connection publishes in sequence. */
  maxInFlight?: number;
  watchTimeoutSeconds?: number;
  now?: () => Date;
}

class Expired extends Error {}

interface Pending {
  done: Promise<void>;
  apply: () => void;
}

/**
 * List then watch one (cluster, resource, namespace), publishing every change once. On a gap
 * (restart, 410 Gone) it relists and publishes only the difference against what it knows.
 */
export class ResourceWatch {
  readonly #o: Required<Omit<ResourceWatchOptions, "namespace" | "labelSelector">> & ResourceWatchOptions;
  readonly #known = new Map<string, KnownObject>();
  readonly #abort = new AbortController();
  #pending: Pending[] = [];
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
  }

  start(): void {
    this.#running ??= this.#loop();
  }

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
        this.#pending = [];
        if (signal.aborted) break;
        if (err instanceof Expired || (err instanceof KubeApiError && err.httpStatus === 410)) {
          this.#o.logger.info({ resourceVersion: this.#rv }, "resource version expired; relisting");
          this.#rv = undefined;
          continue;
        }
        const delay = backoffDelay(attempt++);
        this.#o.logger.warn({ err: (err as Error).message, retryInMs: delay }, "watch failed");
        this.#progress("error", (err as Error).message);
        await sleep(delay, signal);
      }
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

  async #relist(signal: AbortSignal): Promise<void> {
    const seen = new Map<string, KubeObject>();
    let listRv = "";
    let token: string | undefined;
    do {
      const page: KubeList = await this.#o.client.getJson(
        this.#path,
        { limit: this.#o.pageSize, continue: token, labelSelector: this.#o.labelSelector },
        signal,
      );
      this.#kind ??= page.kind?.replace(/List$/, "");
      for (const item of page.items) seen.set(item.metadata.uid, item);
      listRv = page.metadata.resourceVersion;
      token = page.metadata.continue || undefined;
    } while (token);
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
  }

  async #watch(signal: AbortSignal): Promise<void> {
    const events = this.#o.client.watch(
      this.#path,
      {
        resourceVersion: this.#rv,
        allowWatchBookmarks: true,
        labelSelector: this.#o.labelSelector,
        // Spread stream ends so thousands of watches do not reconnect in the same second.
        timeoutSeconds: Math.round(this.#o.watchTimeoutSeconds * (0.8 + Math.random() * 0.4)),
      },
      signal,
    );
    for await (const ev of events) {
      if (ev.type === "ERROR") {
        if (ev.object.code === 410) throw new Expired(ev.object.message ?? "expired");
        throw new KubeApiError(ev.object.code ?? 500, ev.object.message ?? "watch error");
      }
      if (ev.type === "BOOKMARK") {
        await this.#flush();
        this.#rv = ev.object.metadata.resourceVersion;
        continue;
      }
      const kind = ev.object.kind ?? this.#kind ?? this.#o.ref.resource;
      await this.#emit(ev.type, ev.object, kind, ev.object.metadata.resourceVersion);
    }
    await this.#flush();
  }

  /** Starts publishing one change; what it means for our state is applied once it is stored. */
  async #emit(type: EventType, obj: KubeObject, kind: string, streamRv?: string): Promise<void> {
    const envelope = buildEnvelope(this.#o.cluster, this.#o.ref, kind, type, obj, this.#o.now().toISOString());
    const { uid, resourceVersion, name, namespace } = obj.metadata;
    const done = this.#o.publish(envelope);
    // Failures are seen when this entry is awaited in order; until then, don't report them as unhandled.
    done.catch(() => undefined);
    this.#pending.push({
      done,
      apply: () => {
        if (type === "DELETED") this.#known.delete(uid);
        else
          this.#known.set(
            uid,
            namespace ? { rv: resourceVersion, namespace, name, kind } : { rv: resourceVersion, name, kind },
          );
        if (streamRv) this.#rv = streamRv;
        this.#lastEventAt = envelope.observedAt;
      },
    });
    if (this.#pending.length >= this.#o.maxInFlight) await this.#flush();
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const head = this.#pending[0] as Pending;
      await head.done;
      head.apply();
      this.#pending.shift();
    }
  }
}
