import {
  type Envelope,
  type EnvelopeMatcher,
  type Logger,
  type PayloadShape,
  type Redis,
  type Registry,
  type SecretBox,
  type StoredServer,
  type WebhookTarget,
  compileFilters,
  coalesced,
  payloadShapeKey,
  followChanges,
  TimeSlicer,
  isActive,
  openServer,
} from "@mcic/core";
import { MatchingIndex } from "./matching-index.js";

/**
 * A server ready for delivery: filters compiled, secret and headers opened once. During a secret
 * rotation it holds the previous key with its expiry; the sender drops that key at send time once
 * expired, so signing with it stops on time without waiting for a reload.
 */
export interface Target extends WebhookTarget, PayloadShape {
  name: string;
  includeSecretData: boolean;
  /** Names the body this server gets (payloadShapeKey): servers with the same key share one. */
  shapeKey: string;
  /** Opens the sealed Secret values of an event; given only to servers with includeSecretData. */
  secretValuesBox?: SecretBox;
  matches: EnvelopeMatcher;
  stored: StoredServer;
}

export interface ServerIndexOptions {
  registry: Registry;
  subscriber: Redis;
  box: SecretBox;
  logger: Logger;
  reloadIntervalMs?: number;
  /**
   * After each reload: the registration revision it reflects (every write up to it is in) and
   * the servers that stopped receiving (deleted or disabled).
   */
  onReloaded?: (revision: number, dropped: string[]) => void;
  /** A server's filter expression failed on an event: the event was not delivered to it. */
  onFilterError?: (server: string, err: Error, e: Envelope) => void;
}

const filtersOf = (t: Target) => t.stored.filters;

interface BuiltTarget {
  record: string;
  target: Target | undefined;
}

/**
 * The enabled servers, kept current from change notices (plus a periodic reload as a safety net),
 * so matching an event never reads Redis.
 */
export class ServerIndex {
  readonly #o: ServerIndexOptions;
  #index = new MatchingIndex<Target>([], filtersOf);
  #byName = new Map<string, Target>();
  /** Per server name: the record its target was built from (undefined: it could not be opened). */
  #built = new Map<string, BuiltTarget>();
  #disabled = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #following = false;

  constructor(options: ServerIndexOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {
    const { subscriber, registry, logger } = this.#o;
    this.#following = true;
    await followChanges(subscriber, registry.keys.changes, logger, {
      onNotice: (notice) => {
        if (notice.kind !== "server" || !this.#following) return;
        void this.reload().then(() => logger.info({ server: notice.name, op: notice.op }, "server change applied"));
      },
      onReconnect: () => {
        if (this.#following) void this.reload();
      },
    });
    await this.reload();
    this.#timer = setInterval(() => void this.reload(), this.#o.reloadIntervalMs ?? 30_000);
    this.#timer.unref();
  }

  /** Stops following changes (the subscriber connection belongs to the caller). */
  stop(): void {
    this.#following = false;
    clearInterval(this.#timer);
  }

  /** Servers that want this event, in registration list order. */
  match(e: Envelope): Target[] {
    return this.#index.match(e);
  }

  /** Names of the servers receiving events now. */
  names(): string[] {
    return [...this.#byName.keys()];
  }

  get(name: string): Target | undefined {
    return this.#byName.get(name);
  }

  /** Every registered server: those receiving events now and the disabled ones. */
  registeredNames(): string[] {
    return [...this.#byName.keys(), ...this.#disabled];
  }

  /** Registered but not receiving: `enabled: false`, or disabled after answering 410 Gone. */
  isDisabled(name: string): boolean {
    return this.#disabled.has(name);
  }

  /** Reads the server list again; calls during a reload coalesce into one more. */
  readonly reload = coalesced(
    async () => {
      const { registry } = this.#o;
      // Read first: the list read after it holds every write up to it.
      const revision = await registry.serversRevision();
      const servers = await registry.listServers();
      const reasons = await registry.disabledReasons(servers.map((s) => s.name));
      const active = servers.filter((s) => isActive(s, { disabledReason: reasons.get(s.name) }));
      const activeNames = new Set(active.map((s) => s.name));
      const targets = await this.#targets(active);
      const byName = new Map(targets.map((t) => [t.name, t]));
      const dropped = this.names().filter((name) => !byName.has(name));
      this.#disabled = new Set(servers.filter((s) => !activeNames.has(s.name)).map((s) => s.name));
      this.#index = new MatchingIndex(targets, filtersOf);
      this.#byName = byName;
      this.#o.onReloaded?.(revision, dropped);
    },
    (err) => this.#o.logger.error({ err }, "server reload failed; keeping the previous list"),
  );

  /**
   * The targets of these servers. A server whose record is unchanged since the last reload keeps
   * its target (opening secrets and compiling filters is most of a reload's CPU: a second for
   * 10,000 servers), and the work yields to other events every few milliseconds, so a change of
   * one server among thousands does not hold up deliveries.
   */
  async #targets(servers: StoredServer[]): Promise<Target[]> {
    const built = new Map<string, BuiltTarget>();
    const targets: Target[] = [];
    const slicer = new TimeSlicer();
    for (const s of servers) {
      const record = JSON.stringify(s);
      const previous = this.#built.get(s.name);
      const target = previous?.record === record ? previous.target : this.#target(s);
      built.set(s.name, { record, target });
      if (target) targets.push(target);
      await slicer.maybeYield();
    }
    this.#built = built;
    return targets;
  }

  /** Compiled once per change of the server; filters that no longer compile (stored before a check) match nothing. */
  #matcher(s: StoredServer): EnvelopeMatcher {
    try {
      return compileFilters(s.filters, { onExpressionError: (err, e) => this.#o.onFilterError?.(s.name, err, e) });
    } catch (err) {
      this.#o.logger.error(
        { server: s.name, err: (err as Error).message },
        "server filters do not compile; it receives nothing",
      );
      return () => false;
    }
  }

  #target(s: StoredServer): Target | undefined {
    try {
      return {
        ...openServer(s, this.#o.box),
        name: s.name,
        includeSecretData: s.includeSecretData,
        payload: s.payload,
        includeManagedFields: s.includeManagedFields,
        shapeKey: payloadShapeKey(s),
        ...(s.includeSecretData ? { secretValuesBox: this.#o.box } : {}),
        matches: this.#matcher(s),
        stored: s,
      };
    } catch (err) {
      this.#o.logger.error(
        { server: s.name, err: (err as Error).message },
        "cannot open server secret (wrong MCIC_SECRET_KEY?); skipping server",
      );
      return undefined;
    }
  }
}
