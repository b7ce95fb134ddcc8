import { describe, expect, it } from "vitest";
import { rendezvousOwner } from "./rendezvous.js";

const clusters = Array.from({ length: 3000 }, (_, i) => `cluster-${i}`);

describe("rendezvousOwner", () => {
  it("spreads clusters evenly over replicas", () => {
    const nodes = ["w-a", "w-b", "w-c"];
    const counts = new Map<string, number>();
    for (const c of clusters) {
      const owner = rendezvousOwner(c, nodes) as string;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    for (const n of nodes) expect(counts.get(n)).toBeGreaterThan(900);
  });

  it("moves only the departed replica's clusters when one leaves", () => {
    const before = clusters.map((c) => rendezvousOwner(c, ["w-a", "w-b", "w-c"]));
    const after = clusters.map((c) => rendezvousOwner(c, ["w-a", "w-c"]));
    clusters.forEach((_, i) => {
      if (before[i] !== "w-b") expect(after[i]).toBe(before[i]);
    });
  });

  it("is the same whatever the order of the replica list, and undefined without replicas", () => {
    expect(rendezvousOwner("x", ["a", "b", "c"])).toBe(rendezvousOwner("x", ["c", "a", "b"]));
    expect(rendezvousOwner("x", [])).toBeUndefined();
  });
});
