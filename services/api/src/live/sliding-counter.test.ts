import { describe, expect, it } from "vitest";
import { SlidingCounter } from "./sliding-counter.js";

describe("SlidingCounter", () => {
  it("sums the last minute per key and forgets what fell out of it", () => {
    let now = 1_000_000_000;
    const counter = new SlidingCounter(60, () => now);
    counter.add("prod", 3);
    counter.add("lab");
    now += 30_000;
    counter.add("prod", 2);
    expect(Object.fromEntries(counter.totals())).toEqual({ prod: 5, lab: 1 });
    expect(counter.coveredSeconds()).toBe(30);
    now += 31_000; // the first second is now more than a minute ago
    expect(Object.fromEntries(counter.totals())).toEqual({ prod: 2 });
    expect(counter.coveredSeconds()).toBe(60);
    now += 3_600_000;
    expect(counter.totals().size).toBe(0);
    counter.add("prod");
    expect(Object.fromEntries(counter.totals())).toEqual({ prod: 1 });
  });
});
