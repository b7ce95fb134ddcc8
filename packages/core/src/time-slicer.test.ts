import { describe, expect, it } from "vitest";
import { TimeSlicer } from "./time-slicer.js";

describe("TimeSlicer", () => {
  it("lets a timer waiting behind a long loop run once a slice is used up, not after the loop", async () => {
    const slicer = new TimeSlicer(5);
    let timerRanAt = -1;
    setTimeout(() => {
      timerRanAt = iterations;
    }, 0);
    let iterations = 0;
    const until = performance.now() + 100;
    while (performance.now() < until) {
      iterations++;
      await slicer.maybeYield();
    }
    // The timer ran part-way through the 100 ms loop (after about 5 ms), not at its end.
    expect(timerRanAt).toBeGreaterThan(0);
    expect(timerRanAt).toBeLessThan(iterations);
  });

  it("does not yield before the slice is used up", async () => {
    const slicer = new TimeSlicer(10_000);
    let yielded = false;
    setImmediate(() => {
      yielded = true;
    });
    for (let i = 0; i < 1000; i++) await slicer.maybeYield();
    expect(yielded).toBe(false);
  });
});
