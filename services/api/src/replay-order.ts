import type { DeadLetter } from "@mcic/core";

/** Orders resourceVersions when both are integers (etcd's are); others keep their order. */
function compareVersions(a: string, b: string): number {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return 0;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Dead letters (listed newest first) in the order to replay them: oldest first, and each object's
 * versions in resourceVersion order within the places its letters take, so a receiver never sees
 * an object go back in time during a replay (a retry can dead-letter an older version after a
 * newer one).
 */
export function oldestFirst<T extends { value: DeadLetter }>(newestFirst: T[]): T[] {
  const ordered = [...newestFirst].reverse();
  const places = new Map<string, number[]>();
  ordered.forEach((entry, i) => {
    const { cluster, uid } = entry.value.envelope;
    const key = `${cluster}/${uid}`;
    const list = places.get(key);
    if (list) list.push(i);
    else places.set(key, [i]);
  });
  const out = [...ordered];
  for (const positions of places.values()) {
    if (positions.length < 2) continue;
    const sorted = positions
      .map((i) => ordered[i] as T)
      .sort((a, b) => compareVersions(a.value.envelope.resourceVersion, b.value.envelope.resourceVersion));
    positions.forEach((position, k) => {
      out[position] = sorted[k] as T;
    });
  }
  return out;
}
