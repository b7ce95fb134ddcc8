import { describe, expect, it } from "vitest";
import { KeyedSerializer } from "./keyed-serializer.js";

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

describe("KeyedSerializer", () => {
  it("runs one key's tasks in order and other keys alongside", async () => {
    const s = new KeyedSerializer();
    const order: string[] = [];
    const gate = deferred();
    const a1 = s.run("a", async () => {
      await gate.promise;
      order.push("a1");
    });
    const a2 = s.run("a", async () => {
      order.push("a2");
    });
    await s.run("b", async () => {
      order.push("b1");
    });
    expect(order).toEqual(["b1"]);
    gate.resolve();
    await Promise.all([a1, a2]);
    expect(order).toEqual(["b1", "a1", "a2"]);
    expect(s.size).toBe(0);
  });

  it("keeps going after a failed task and reports the failure to its caller", async () => {
    const s = new KeyedSerializer();
    const failed = s.run("k", async () => {
      throw new Error("boom");
    });
    const next = s.run("k", async () => undefined);
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBeUndefined();
  });
});
