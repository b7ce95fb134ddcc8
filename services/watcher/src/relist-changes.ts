import type { EventType, KubeObject } from "@mcic/core";
import type { KnownObject } from "./resume-store.js";

export interface RelistChange {
  type: EventType;
  object: KubeObject;
  kind: string;
}

/**
 * What changed while nobody watched, from a fresh list against what we knew: new objects are
 * ADDED, those at another resourceVersion MODIFIED, known ones missing from the list DELETED
 * (as their last known metadata). `known` is read as the caller goes, so it may change meanwhile.
 */
export function* relistChanges(
  listed: ReadonlyMap<string, KubeObject>,
  known: ReadonlyMap<string, KnownObject>,
  kind: string,
): Generator<RelistChange> {
  for (const [uid, obj] of listed) {
    const before = known.get(uid);
    if (before?.rv === obj.metadata.resourceVersion) continue;
    yield { type: before ? "MODIFIED" : "ADDED", object: { ...obj, kind }, kind };
  }
  for (const [uid, gone] of [...known]) {
    if (listed.has(uid)) continue;
    const metadata: KubeObject["metadata"] = { name: gone.name, uid, resourceVersion: gone.rv };
    if (gone.namespace) metadata.namespace = gone.namespace;
    yield { type: "DELETED", object: { metadata }, kind: gone.kind };
  }
}
