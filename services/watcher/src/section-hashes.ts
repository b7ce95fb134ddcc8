import { type KubeObject, UNTRACKED_METADATA } from "@mcic/core";

/**
 * Metadata fields never reported as changed: bookkeeping that moves on every write (resourceVersion,
 * managedFields, generation), and fields Kubernetes never lets change (storing their hashes would
 * only cost space).
 */
const SKIPPED_METADATA = new Set<string>([...UNTRACKED_METADATA, "name", "namespace", "uid", "creationTimestamp"]);
const SKIPPED_TOP = new Set(["apiVersion", "kind", "metadata"]);
/** Section names that fit the compact encoding below; others (not valid filter entries either) are not tracked. */
const PLAIN_NAME = /^[A-Za-z0-9_$-]+$/;

/**
 * One short hash per section of an object, encoded compactly for the resume state:
 * `spec:1x2y3z,status:…,.labels:…` — `.labels` stands for `metadata.labels`. A section is a
 * top-level field other than apiVersion, kind and metadata, or a field of metadata. The hash is
 * 32-bit FNV-1a over the section's JSON, as the API server serialises it (its field order is fixed),
 * so equal content gives equal hashes; a collision (1 in 2^32 per change) hides one change.
 */
export function sectionHashes(obj: KubeObject): string {
  const parts: string[] = [];
  for (const key of Object.keys(obj)) {
    if (SKIPPED_TOP.has(key) || !PLAIN_NAME.test(key)) continue;
    parts.push(`${key}:${hashOf((obj as Record<string, unknown>)[key])}`);
  }
  const metadata = obj.metadata as Record<string, unknown>;
  for (const key of Object.keys(metadata)) {
    if (SKIPPED_METADATA.has(key) || !PLAIN_NAME.test(key)) continue;
    parts.push(`.${key}:${hashOf(metadata[key])}`);
  }
  return parts.join(",");
}

/**
 * The sections that differ between two encodings, sorted, as filters name them (`metadata.labels`).
 * A section present in one only (a label map added or removed) has changed.
 */
export function changedPaths(before: string, after: string): string[] {
  if (before === after) return [];
  const old = before.split(",");
  const now = after.split(",");
  // Usually the same sections in the same order: compare part by part, no maps.
  if (old.length === now.length) {
    const changed: string[] = [];
    for (let i = 0; i < now.length; i++) {
      const a = old[i] as string;
      const b = now[i] as string;
      if (a === b) continue;
      const colon = b.lastIndexOf(":");
      if (colon < 0 || a.lastIndexOf(":") !== colon || !a.startsWith(b.slice(0, colon + 1))) return byName(old, now);
      changed.push(pathOf(b.slice(0, colon)));
    }
    return changed.sort();
  }
  return byName(old, now);
}

/** changedPaths for sections added, removed or reordered. */
function byName(before: string[], after: string[]): string[] {
  const old = decode(before);
  const changed: string[] = [];
  for (const [name, hash] of decode(after)) {
    if (old.get(name) !== hash) changed.push(name);
    old.delete(name);
  }
  changed.push(...old.keys());
  return changed.map(pathOf).sort();
}

const pathOf = (name: string) => (name.startsWith(".") ? `metadata${name}` : name);

function decode(parts: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of parts) {
    if (part === "") continue;
    const colon = part.lastIndexOf(":");
    map.set(part.slice(0, colon), part.slice(colon + 1));
  }
  return map;
}

function hashOf(value: unknown): string {
  const text = JSON.stringify(value) ?? "";
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}
