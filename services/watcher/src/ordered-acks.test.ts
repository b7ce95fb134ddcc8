import { describe, expect, it } from "vitest";
import { OrderedAcks } from "./ordered-acks.js";

interface Ack {
  n: number;
}

function deferred() {
  let resolve!: (value: Ack) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<Ack>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets the ack callbacks run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function window() {
  const applied: string[] = [];
  let runs = 0;
  const acks = new OrderedAcks<string, Ack>({
    applied: (item, result) => applied.push(`${item}:${result.n}`),
    afterRun: () => runs++,
  });
  return { acks, applied, runs: () => runs };
}

describe("OrderedAcks", () => {
  it("applies acks in the order the items were added, whatever order they arrive in", async () => {
    const { acks, applied, runs } = window();
    const [a, b, c] = [deferred(), deferred(), deferred()];
    acks.add("a", a.promise);
    acks.add("b", b.promise);
    acks.add("c", c.promise);
    c.resolve({ n: 3 });
    b.resolve({ n: 2 });
    await turn();
    expect(applied).toEqual([]);
    expect(acks.waiting).toBe(3);
    a.resolve({ n: 1 });
    await acks.flush();
    expect(applied).toEqual(["a:1", "b:2", "c:3"]);
    expect(acks.waiting).toBe(0);
    expect(runs()).toBe(1);
  });

  it("flush resolves at once when nothing waits", async () => {
    const { acks } = window();
    await expect(acks.flush()).resolves.toBeUndefined();
  });

  it("stops applying at the first failure and throws it until settled", async () => {
    const { acks, applied } = window();
    const [a, b, c] = [deferred(), deferred(), deferred()];
    acks.add("a", a.promise);
    acks.add("b", b.promise);
    acks.add("c", c.promise);
    a.resolve({ n: 1 });
    b.reject(new Error("publish failed"));
    c.resolve({ n: 3 });
    await expect(acks.flush()).rejects.toThrow("publish failed");
    expect(applied).toEqual(["a:1"]);
    expect(() => acks.check()).toThrow("publish failed");

    await acks.settle();
    expect(() => acks.check()).not.toThrow();
    const d = deferred();
    acks.add("d", d.promise);
    d.resolve({ n: 4 });
    await acks.flush();
    expect(applied).toEqual(["a:1", "d:4"]);
  });

  it("settle waits for every ack still awaited, then forgets them and counts a generation", async () => {
    const { acks, applied } = window();
    const [a, b] = [deferred(), deferred()];
    acks.add("a", a.promise);
    acks.add("b", b.promise);
    a.reject(new Error("gone"));
    const before = acks.generation;
    let settled = false;
    const settling = acks.settle().then(() => {
      settled = true;
    });
    await turn();
    expect(settled).toBe(false);
    b.resolve({ n: 2 });
    await settling;
    expect(acks.generation).toBe(before + 1);
    expect(acks.waiting).toBe(0);
    expect(applied).toEqual([]);
  });
});
