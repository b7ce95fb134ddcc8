import { describe, expect, it } from "vitest";
import { Semaphore } from "./semaphore.js";

describe("Semaphore", () => {
  it("admits up to the limit and then one per release, in arrival order", async () => {
    const s = new Semaphore(2);
    const order: number[] = [];
    await s.acquire();
    await s.acquire();
    const third = s.acquire().then(() => order.push(3));
    const fourth = s.acquire().then(() => order.push(4));
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(s.held).toBe(2);
    s.release();
    await third;
    expect(order).toEqual([3]);
    expect(s.held).toBe(2);
    s.release();
    await fourth;
    s.release();
    s.release();
    expect(order).toEqual([3, 4]);
    expect(s.held).toBe(0);
  });
});

describe("Semaphore under a burst", () => {
  it("hands slots to 50,000 waiters in arrival order and ends with none held", async () => {
    const s = new Semaphore(1);
    await s.acquire();
    const order: number[] = [];
    const all = Array.from({ length: 50_000 }, (_, i) => s.acquire().then(() => order.push(i)));
    expect(s.waiting).toBe(50_000);
    for (let i = 0; i < 50_000; i++) {
      s.release();
      await Promise.resolve();
    }
    await Promise.all(all);
    s.release();
    expect(order).toEqual(Array.from({ length: 50_000 }, (_, i) => i));
    expect(s.held).toBe(0);
    expect(s.waiting).toBe(0);
  });
});
