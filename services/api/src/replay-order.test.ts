import type { DeadLetter, Envelope } from "@mcic/core";
import { describe, expect, it } from "vitest";
import { oldestFirst } from "./replay-order.js";

function letter(uid: string, rv: string, cluster = "c1"): { text: string; value: DeadLetter } {
  const envelope = { cluster, uid, resourceVersion: rv } as Envelope;
  const value: DeadLetter = {
    id: `${cluster}-${uid}-${rv}`,
    eventId: "e",
    status: 500,
    attempts: 1,
    at: "t",
    envelope,
  };
  return { text: value.id, value };
}

const order = (entries: { text: string }[]) => entries.map((e) => e.text);

describe("oldestFirst", () => {
  it("turns the newest-first list around", () => {
    const list = [letter("a", "26"), letter("a", "25"), letter("a", "23"), letter("a", "22")];
    expect(order(oldestFirst(list))).toEqual(["c1-a-22", "c1-a-23", "c1-a-25", "c1-a-26"]);
  });

  it("puts each object's versions in resourceVersion order where its letters are, others stay", () => {
    // Dead-lettered in this order (oldest first): a/30, b/5, a/28 (a retry that gave up later), c/1, a/29.
    const newestFirst = [letter("a", "29"), letter("c", "1"), letter("a", "28"), letter("b", "5"), letter("a", "30")];
    expect(order(oldestFirst(newestFirst))).toEqual(["c1-a-28", "c1-b-5", "c1-a-29", "c1-c-1", "c1-a-30"]);
  });

  it("compares versions as numbers, keeps the same uid of two clusters apart and leaves opaque versions in place", () => {
    const newestFirst = [
      letter("a", "9"),
      letter("a", "10", "c2"),
      letter("a", "100"),
      letter("x", "b"),
      letter("x", "a"),
    ];
    expect(order(oldestFirst(newestFirst))).toEqual(["c1-x-a", "c1-x-b", "c1-a-9", "c2-a-10", "c1-a-100"]);
  });
});
