import type { EventType, KubeObject } from "@mcic/core";
import type { KnownObject } from "./resume-store.js";
import { changedPaths, sectionHashes } from "./section-hashes.js";

/** What one observed change means: the object as we will know it, and what a MODIFIED changed. */
export interface ObservedChange {
  /** Absent for a deletion. */
  known: KnownObject | undefined;
  /** MODIFIED only, when the previous version's section hashes are known. */
  changedPaths?: string[];
}

/**
 * Tells which sections a MODIFIED changed, against the version published just before it. That
 * one may still be in flight (not in `known`, which holds only what is stored), so the section
 * hashes of published-but-unstored versions are kept aside until stored; after a failure they are
 * dropped (`reset`), since the watch then replays from what is stored.
 */
export class ChangeTracker {
  readonly #known: ReadonlyMap<string, KnownObject>;
  /** uid → section hashes of the latest published version not yet stored; undefined: deleted. */
  readonly #unstored = new Map<string, string | undefined>();

  constructor(known: ReadonlyMap<string, KnownObject>) {
    this.#known = known;
  }

  observe(type: EventType, obj: KubeObject, kind: string): ObservedChange {
    const { uid, resourceVersion: rv, name, namespace } = obj.metadata;
    if (type === "DELETED") {
      this.#unstored.set(uid, undefined);
      return { known: undefined };
    }
    const sections = sectionHashes(obj);
    const before = this.#unstored.has(uid) ? this.#unstored.get(uid) : this.#known.get(uid)?.sections;
    this.#unstored.set(uid, sections);
    const known: KnownObject = namespace ? { rv, namespace, name, kind, sections } : { rv, name, kind, sections };
    // No hashes of the version before (state written by an older mcic): changedPaths stays absent,
    // which filters treat as "anything may have changed" (fail open).
    if (type !== "MODIFIED" || before === undefined) return { known };
    return { known, changedPaths: changedPaths(before, sections) };
  }

  /** The change is stored: `known` holds it now. */
  stored(uid: string, sections: string | undefined): void {
    if (this.#unstored.get(uid) === sections) this.#unstored.delete(uid);
  }

  /** Publishes in flight failed or were abandoned: only what is stored counts from now on. */
  reset(): void {
    this.#unstored.clear();
  }
}
