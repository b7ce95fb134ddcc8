import { createHash } from "node:crypto";

function weight(key: string, node: string): bigint {
  return createHash("sha1").update(`${key}\u0000${node}`).digest().readBigUInt64BE(0);
}

/**
 * Highest-random-weight (rendezvous) hashing: every replica computes the same owner for a cluster
 * from the same list of live replicas, and when one replica leaves or joins only the clusters it
 * gains or loses move.
 */
export function rendezvousOwner(key: string, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const node of nodes) {
    const w = weight(key, node);
    if (w > bestWeight || (w === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}
