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
