import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limiter.js";

function limiter(replicas = 1) {
  const clock = { now: 1_000_000, replicas, delayed: [] as string[] };
  const rl = new RateLimiter({
    replicas: () => clock.replicas,
    now: () => clock.now,
    onDelayed: (s) => clock.delayed.push(s),
  });
  return { rl, clock };
}

describe("RateLimiter", () => {
  it("spaces deliveries at the rate, without a burst unless one is given", () => {
    const { rl, clock } = limiter();
    const waits = Array.from({ length: 5 }, () => rl.reserve("lb", { perSecond: 20 }));
    expect(waits).toEqual([0, 50, 100, 150, 200]);
    expect(clock.delayed).toEqual(["lb", "lb", "lb", "lb"]);
  });

  it("lets a burst go at once, then the rate", () => {
    const { rl, clock } = limiter();
    const waits = Array.from({ length: 6 }, () => rl.reserve("lb", { perSecond: 10, burst: 3 }));
    expect(waits).toEqual([0, 0, 0, 100, 200, 300]);
    // Idle long enough, the burst is available again.
    clock.now += 10_000;
    expect(Array.from({ length: 4 }, () => rl.reserve("lb", { perSecond: 10, burst: 3 }))).toEqual([0, 0, 0, 100]);
  });

  it("never gives more than the rate over time, whatever the calls", () => {
    const { rl, clock } = limiter();
    const sends: number[] = [];
    for (let i = 0; i < 500; i++) {
      clock.now += Math.floor((i * 7919) % 13);
      sends.push(clock.now + rl.reserve("lb", { perSecond: 50, burst: 5 }));
    }
    sends.sort((a, b) => a - b);
    // In any window of one second at most perSecond + burst sends.
    for (let i = 0; i < sends.length; i++) {
      const inWindow = sends.filter((t) => t >= (sends[i] as number) && t < (sends[i] as number) + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(55);
    }
  });

  it("keeps servers apart and leaves servers without a limit alone", () => {
    const { rl } = limiter();
    expect([rl.reserve("a", { perSecond: 1 }), rl.reserve("a", { perSecond: 1 })]).toEqual([0, 1000]);
    expect(rl.reserve("b", { perSecond: 1 })).toBe(0);
    expect(rl.reserve("c", undefined)).toBe(0);
    expect(rl.reserve("c", undefined)).toBe(0);
  });

  it("gives each of N replicas 1/N of the rate and of the burst", () => {
    const { rl } = limiter(4);
    const waits = Array.from({ length: 4 }, () => rl.reserve("lb", { perSecond: 20, burst: 8 }));
    // 5 a second and a burst of 2 on this replica.
    expect(waits).toEqual([0, 0, 200, 400]);
  });

  it("forgets servers that are gone", () => {
    const { rl } = limiter();
    rl.reserve("a", { perSecond: 1 });
    rl.retain(["b"]);
    expect(rl.reserve("a", { perSecond: 1 })).toBe(0);
  });
});
