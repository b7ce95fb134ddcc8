import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limiter.js";

describe("RateLimiter", () => {
  it("allows a burst, then one request per 1/rate seconds", () => {
    let now = 0;
    const limiter = new RateLimiter(10, 3, () => now);
    expect([limiter.tryTake(), limiter.tryTake(), limiter.tryTake()]).toEqual([0, 0, 0]);
    expect(limiter.tryTake()).toBe(100);
    now += 100;
    expect(limiter.tryTake()).toBe(0);
    now += 10_000;
    expect([limiter.tryTake(), limiter.tryTake(), limiter.tryTake(), limiter.tryTake()]).toEqual([0, 0, 0, 100]);
  });
});
