import { waitFor } from "@mcic/core/testing";
import { describe, expect, it } from "vitest";
import { ServerLanes } from "./server-lanes.js";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { opened, open };
}

describe("ServerLanes", () => {
  it("keeps each server within its own limit and the process within the total", async () => {
    const lanes = new ServerLanes({ perServer: 2, total: 3, maxQueued: 100 });
    const g = gate();
    let running = 0;
    let peak = 0;
    const perServer = new Map<string, number>();
    let peakPerServer = 0;
    const task = (server: string) => async () => {
      running++;
      perServer.set(server, (perServer.get(server) ?? 0) + 1);
      peak = Math.max(peak, running);
      peakPerServer = Math.max(peakPerServer, perServer.get(server) ?? 0);
      await g.opened;
      running--;
      perServer.set(server, (perServer.get(server) ?? 0) - 1);
    };
    const all = [
      ...Array.from({ length: 5 }, (_, i) => lanes.run("a", `a${i}`, task("a"))),
      ...Array.from({ length: 5 }, (_, i) => lanes.run("b", `b${i}`, task("b"))),
    ];
    await waitFor(() => running === 3, { message: "three tasks running" });
    expect(lanes.pending("a") + lanes.pending("b")).toBe(10);
    g.open();
    await Promise.all(all);
    expect(peak).toBe(3);
    expect(peakPerServer).toBe(2);
    expect(lanes.pending("a")).toBe(0);
    lanes.stop();
  });

  it("runs one object's tasks in order, refuses a failing server, and marks a slow one failing", async () => {
    const lanes = new ServerLanes({ perServer: 4, total: 8, maxQueued: 100, slowAfterMs: 50 });
    const order: number[] = [];
    const g = gate();
    const first = lanes.run("s", "obj", async () => {
      await g.opened;
      order.push(1);
    });
    const second = lanes.run("s", "obj", async () => {
      order.push(2);
    });
    expect(lanes.accepts("s")).toBe(true);
    // The first task hangs past slowAfterMs: the watchdog marks the server failing.
    await waitFor(() => lanes.isFailing("s"), { timeoutMs: 2000, message: "slow server marked failing" });
    expect(lanes.accepts("s")).toBe(false);
    g.open();
    await Promise.all([first, second]);
    expect(order).toEqual([1, 2]);
    lanes.setFailing("s", false);
    expect(lanes.accepts("s")).toBe(true);
    lanes.stop();
  });
  it("settles once the last attempt to the named servers finished, not waiting for other servers", async () => {
    const lanes = new ServerLanes({ perServer: 2, total: 4, maxQueued: 100 });
    const a = gate();
    const b = gate();
    const first = lanes.run("dropped", "o1", () => a.opened);
    const second = lanes.run("dropped", "o2", () => b.opened);
    const other = gate();
    const unrelated = lanes.run("kept", "o1", () => other.opened);
    await waitFor(() => lanes.inFlight("dropped") === 2 && lanes.inFlight("kept") === 1);
    let settled = false;
    const done = lanes.settled(["dropped", "unknown"]).then(() => {
      settled = true;
    });
    a.open();
    await first;
    expect(settled).toBe(false);
    b.open();
    await second;
    await done;
    expect(settled).toBe(true);
    expect(lanes.inFlight("dropped")).toBe(0);
    // Nothing under way: settles at once.
    await lanes.settled(["dropped"]);
    other.open();
    await unrelated;
  });
});
