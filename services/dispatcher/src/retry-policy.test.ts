import { describe, expect, it } from "vitest";
import { classify, retryDelay } from "./retry-policy.js";

describe("retry policy", () => {
  it.each([
    [0, "retry"],
    [408, "retry"],
    [429, "retry"],
    [500, "retry"],
    [503, "retry"],
    [400, "dead-letter"],
    [404, "dead-letter"],
    [410, "disable"],
  ] as const)("status %i -> %s", (status, verdict) => {
    expect(classify(status)).toBe(verdict);
  });

  it("dead-letters an attempt the egress policy refused at once: no retry can get through", () => {
    expect(classify(0, "egress_denied")).toBe("dead-letter");
  });

  const schedule = [1000, 5000, 30_000];
  it("follows the schedule within ±20% and repeats the last entry", () => {
    expect(retryDelay(schedule, 1, undefined, () => 0)).toBe(800);
    expect(retryDelay(schedule, 1, undefined, () => 1)).toBe(1200);
    expect(retryDelay(schedule, 2, undefined, () => 0.5)).toBe(5000);
    expect(retryDelay(schedule, 9, undefined, () => 0.5)).toBe(30_000);
  });

  it("waits at least as long as Retry-After asks", () => {
    expect(retryDelay(schedule, 1, 60_000, () => 0.5)).toBe(60_000);
    expect(retryDelay(schedule, 3, 10, () => 0.5)).toBe(30_000);
  });
});
