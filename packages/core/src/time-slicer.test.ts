import { describe, expect, it } from "vitest";
import { TimeSlicer } from "./time-slicer.js";

describe("TimeSlicer", () => {
  it("lets a timer waiting behind a long loop run while the loop still runs", async () => {
    const slicer = new TimeSlicer(5);
    let timerFired = false;
    setTimeout(() => {
      timerFired = true;
    }, 0);
    // Without yields this loop would never see the timer (awaiting a resolved promise runs no timers):
    // it would spin until its 5 s deadline. With them the timer runs after the first slice.
    const deadline = performance.now() + 5000;
    while (!timerFired && performance.now() < deadline) {
      await slicer.maybeYield();
    }
    expect(timerFired).toBe(true);
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
