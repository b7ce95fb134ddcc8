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

describe("Semaphore.tryAcquire", () => {
  it("takes a free slot at once and refuses when none is free, leaving the queue alone", async () => {
    const s = new Semaphore(1);
    expect(s.tryAcquire()).toBe(true);
    expect(s.tryAcquire()).toBe(false);
    const waiter = s.acquire();
    s.release();
    await waiter;
    expect(s.held).toBe(1);
    expect(s.tryAcquire()).toBe(false);
    s.release();
    expect(s.tryAcquire()).toBe(true);
  });
});

describe("Semaphore.room", () => {
  it("answers at once while a slot is free, and wakes one waiter per freed slot", async () => {
    const s = new Semaphore(2);
    expect(s.room()).toBeUndefined();
    await s.acquire();
    await s.acquire();
    const woken: number[] = [];
    // Each woken waiter takes the freed slot at once, as a producer does.
    const waiters = [1, 2, 3].map((i) =>
      s.room()?.then(() => {
        woken.push(i);
        expect(s.tryAcquire()).toBe(true);
      }),
    );
    expect(waiters.every((w) => w instanceof Promise)).toBe(true);
    s.release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(woken).toEqual([1]);
    s.release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(woken).toEqual([1, 2]);
    expect(s.held).toBe(2);
  });

  it("wakes the next waiter when a woken one does not take its slot", async () => {
    const s = new Semaphore(1);
    await s.acquire();
    const woken: number[] = [];
    const waiters = [1, 2].map((i) => s.room()?.then(() => woken.push(i)));
    s.release();
    // Nobody acquires: waiter 2 must not wait for a release that never comes.
    await Promise.all(waiters);
    expect(woken).toEqual([1, 2]);
    expect(s.held).toBe(0);
  });
});
