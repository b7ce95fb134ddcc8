import type { ObjectEventData, SnapshotCompletedData } from "./cloud-event.js";
import { StoreError } from "./errors.js";
import {
  type ObjectRecord,
  ObjectRecordSchema,
  type PendingSweep,
  PendingSweepSchema,
  SNAPSHOTS_KEPT,
  ScopeRecordSchema,
  storeKey,
} from "./records.js";
import { isNewer, isProvablyNewer, laterOf } from "./resource-version.js";
import { scopeOf, scopeOfKey, stateKey } from "./state-key.js";
import type { ReceiverStore } from "./store.js";

export interface EngineOptions {
  store: ReceiverStore;
  tombstoneTtlMs: number;
  sweepAfterMs: number;
  now: () => number;
  /** Called after every change of the state map (an applied event, a sweep, expired nothing). */
  changed: () => void;
  failed: (err: unknown) => void;
}

const pendingId = (scope: string, requestId: string) => `${requestId}\n${scope}`;

/**
 * The rules that turn verified events into the state map: newer resourceVersions win, deletions
 * leave tombstones, snapshots sweep what they did not contain. Every change is written to the store
 * before it shows in memory, so an answered delivery survives a restart. Callers serialize calls.
 */
export class StateEngine {
  readonly state = new Map<string, Record<string, unknown>>();
  private readonly records = new Map<string, ObjectRecord>();
  private readonly sweptRv = new Map<string, string>();
  private readonly pending = new Map<string, PendingSweep>();
  /** Distinct objects each (snapshot, scope) delivered so far, rebuilt from the records on load. */
  private readonly delivered = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Set by the receiver: runs a due sweep through the same queue as events. */
  schedule: (task: () => Promise<void>) => void = (task) => void task();

  constructor(private readonly o: EngineOptions) {}

  async load(): Promise<void> {
    const { store } = this.o;
    for (const key of await store.keys()) {
      const value = await store.get(key);
      const parsed = key.startsWith("o/")
        ? ObjectRecordSchema.safeParse(value)
        : key.startsWith("p/")
          ? PendingSweepSchema.safeParse(value)
          : key.startsWith("s/")
            ? ScopeRecordSchema.safeParse(value)
            : undefined;
      if (!parsed?.success) throw new StoreError(`store entry ${JSON.stringify(key)} is not a receiver record`);
      const data = parsed.data as Record<string, unknown>;
      if (key.startsWith("o/")) this.hold(key.slice(2), data as ObjectRecord);
      else if (key.startsWith("s/")) this.sweptRv.set(key.slice(2), (data as { sweptRv: string }).sweptRv);
      else {
        const p = data as PendingSweep;
        this.pending.set(pendingId(scopeOf(p), p.requestId), p);
      }
    }
    for (const [key, record] of this.records) {
      for (const requestId of record.snapshots ?? []) this.count(scopeOfKey(key), requestId);
    }
    await this.pruneTombstones();
    for (const id of [...this.pending.keys()]) this.arm(id);
  }

  /** Applies an object event unless the held version is as new; returns whether the state changed. */
  async applyObject(d: ObjectEventData): Promise<boolean> {
    const key = stateKey({ ...d, namespace: d.namespace ?? "" });
    const held = this.records.get(key);
    const fromSnapshot = d.snapshot === true && d.type === "ADDED" && d.requestId ? d.requestId : undefined;
    const newlyDelivered = fromSnapshot !== undefined && !held?.snapshots?.includes(fromSnapshot);
    const snapshots = newlyDelivered
      ? [...(held?.snapshots ?? []), fromSnapshot].slice(-SNAPSHOTS_KEPT)
      : held?.snapshots;
    // A sweep that ran on its timer before all of its snapshot arrived removed this object too
    // early: the snapshot itself says the object existed at the list, so it comes back.
    const early = fromSnapshot !== undefined && held?.sweptBy === fromSnapshot;
    const apply = !held || early || isNewer(d.resourceVersion, held.rv);
    if (apply) {
      const base = { uid: d.uid, rv: d.resourceVersion, ...(snapshots ? { snapshots } : {}) };
      await this.write(
        key,
        d.type === "DELETED" ? { ...base, deletedAt: this.o.now() } : { ...base, object: d.object },
      );
    } else if (held && newlyDelivered) {
      // Too old to apply, but the object is in the snapshot: it must not be swept.
      await this.write(key, { ...held, snapshots });
    }
    if (newlyDelivered) {
      const id = pendingId(scopeOfKey(key), fromSnapshot);
      this.count(scopeOfKey(key), fromSnapshot);
      const p = this.pending.get(id);
      if (p && (this.delivered.get(id) ?? 0) >= p.count) await this.sweep(id);
    }
    if (apply) this.o.changed();
    return apply;
  }

  /** Records a snapshot completion; sweeps once all its objects arrived, or after sweepAfterMs. */
  async completed(d: SnapshotCompletedData): Promise<boolean> {
    const scope = scopeOf(d);
    const id = pendingId(scope, d.requestId);
    const swept = this.sweptRv.get(scope);
    if (this.pending.has(id) || (swept !== undefined && !isNewer(d.resourceVersion, swept))) return false;
    const p: PendingSweep = { ...d, arrivedAt: this.o.now() };
    await this.persist(() => this.o.store.set(storeKey.pending(scope, d.requestId), p));
    this.pending.set(id, p);
    if ((this.delivered.get(id) ?? 0) >= d.count) await this.sweep(id);
    else this.arm(id);
    return true;
  }

  async pruneTombstones(): Promise<void> {
    const cutoff = this.o.now() - this.o.tombstoneTtlMs;
    for (const [key, record] of [...this.records]) {
      if (record.deletedAt !== undefined && record.deletedAt < cutoff) {
        await this.persist(() => this.o.store.delete(storeKey.object(key)));
        this.records.delete(key);
      }
    }
  }

  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private arm(id: string): void {
    const p = this.pending.get(id);
    if (!p || this.timers.has(id)) return;
    const delay = Math.max(0, p.arrivedAt + this.o.sweepAfterMs - this.o.now());
    const timer = setTimeout(() => {
      this.timers.delete(id);
      this.schedule(() => this.sweep(id).catch(this.o.failed));
    }, delay);
    timer.unref();
    this.timers.set(id, timer);
  }

  /**
   * Removes every live object of the scope the snapshot did not deliver, unless it is provably
   * newer than the list the snapshot was taken from (created or changed after it). The removal
   * leaves a tombstone at the list's version, so a late older event cannot bring it back.
   */
  private async sweep(id: string): Promise<void> {
    const p = this.pending.get(id);
    if (!p) return;
    const scope = scopeOf(p);
    let removed = false;
    for (const [key, record] of [...this.records]) {
      if (scopeOfKey(key) !== scope || record.object === undefined || record.snapshots?.includes(p.requestId)) continue;
      if (isProvablyNewer(record.rv, p.resourceVersion)) continue;
      const { object: _gone, ...rest } = record;
      const rv = laterOf(p.resourceVersion, record.rv);
      await this.write(key, { ...rest, rv, deletedAt: this.o.now(), sweptBy: p.requestId });
      removed = true;
    }
    const before = this.sweptRv.get(scope);
    const sweptRv = before === undefined ? p.resourceVersion : laterOf(before, p.resourceVersion);
    await this.persist(async () => {
      await this.o.store.set(storeKey.scope(scope), { sweptRv });
      await this.o.store.delete(storeKey.pending(scope, p.requestId));
    });
    this.sweptRv.set(scope, sweptRv);
    this.pending.delete(id);
    this.delivered.delete(id);
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    if (removed) this.o.changed();
  }

  private count(scope: string, requestId: string): void {
    const id = pendingId(scope, requestId);
    this.delivered.set(id, (this.delivered.get(id) ?? 0) + 1);
  }

  private async write(key: string, record: ObjectRecord): Promise<void> {
    await this.persist(() => this.o.store.set(storeKey.object(key), record));
    this.hold(key, record);
  }

  private hold(key: string, record: ObjectRecord): void {
    this.records.set(key, record);
    if (record.object) this.state.set(key, record.object);
    else this.state.delete(key);
  }

  private async persist(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      throw new StoreError("the receiver's store failed a write", { cause: err });
    }
  }
}
