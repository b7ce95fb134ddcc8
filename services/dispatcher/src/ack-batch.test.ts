import type { JsMsg } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { AckBatch } from "./ack-batch.js";

/** A message that notes what it was told, in order, into a shared log. */
function fakeMsg(log: string[], name: string): JsMsg {
  return {
    ack: () => log.push(`ack ${name}`),
    nak: (delay?: number) => log.push(`nak ${name} ${delay}`),
  } as unknown as JsMsg;
}

describe("AckBatch", () => {
  it("hands every ack and nak of one turn to the client together, in order, on the next turn", async () => {
    const log: string[] = [];
    const acks = new AckBatch();
    acks.ack(fakeMsg(log, "a"));
    acks.nak(fakeMsg(log, "b"), 1000);
    acks.ack(fakeMsg(log, "c"));
    expect(log).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(["ack a", "nak b 1000", "ack c"]);
  });

  it("flush hands over what is pending at once (a consumer stopping loses no ack), and only once", async () => {
    const log: string[] = [];
    const acks = new AckBatch();
    acks.ack(fakeMsg(log, "a"));
    acks.flush();
    expect(log).toEqual(["ack a"]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(["ack a"]);
  });
});
