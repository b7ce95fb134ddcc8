import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@mcic/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { createReceiver, fileStore, type ReceiverOptions } from "./index.js";
import { completedEvent, newSecret, objectEvent, serve, signed } from "./test-support/events.js";

const SECRET = newSecret();
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function start(options: Partial<ReceiverOptions> = {}) {
  const receiver = createReceiver({
    secrets: [SECRET],
    onError: (err) => {
      throw err;
    },
    ...options,
  });
  const http = await serve(receiver.handler);
  cleanup.push(
    () => http.close(),
    () => receiver.close(),
  );
  const send = async (event: { id: string }) => {
    const res = await http.post(signed(event, [SECRET]));
    expect(res.status).toBe(200);
    return res.body.outcome as string;
  };
  const names = () => [...receiver.state.keys()].map((k) => k.split("/").slice(3).join("/")).sort();
  return { receiver, send, names };
}

const snap = (name: string, rv: number, requestId = "r1", cluster = "east") =>
  objectEvent({ name, rv, type: "ADDED", snapshot: true, requestId, cluster });

describe("@mcic/receiver: snapshots", () => {
  it("removes the held objects of that cluster and resource that the snapshot did not contain", async () => {
    const { send, receiver } = await start();
    for (const [name, rv] of [
      ["web", 3],
      ["api", 4],
      ["gone", 5],
    ] as const) {
      await send(objectEvent({ name, rv, type: "ADDED" }));
    }
    // Other clusters and resources are not the snapshot's business.
    await send(objectEvent({ name: "west-only", rv: 2, type: "ADDED", cluster: "west" }));
    await send(objectEvent({ name: "svc", rv: 2, type: "ADDED", group: "", resource: "services" }));
    await send(snap("web", 3));
    await send(snap("api", 4));
    expect(await send(completedEvent({ requestId: "r1", count: 2, rv: 20 }))).toBe("applied");
    expect([...receiver.state.keys()].sort()).toEqual([
      "east//services/shop/svc",
      "east/networking.k8s.io/ingresses/shop/api",
      "east/networking.k8s.io/ingresses/shop/web",
      "west/networking.k8s.io/ingresses/shop/west-only",
    ]);
  });

  it("waits for objects that arrive after the completion (retries), then sweeps", async () => {
    const { send, names } = await start();
    await send(objectEvent({ name: "old", rv: 2, type: "ADDED" }));
    await send(completedEvent({ requestId: "r1", count: 2, rv: 20 }));
    await send(snap("web", 3));
    expect(names()).toEqual(["shop/old", "shop/web"]);
    await send(snap("api", 4));
    expect(names()).toEqual(["shop/api", "shop/web"]);
  });

  it("keeps objects created or changed after the list the snapshot was taken from", async () => {
    const { send, names } = await start();
    await send(objectEvent({ name: "web", rv: 3, type: "ADDED" }));
    await send(objectEvent({ name: "new", rv: 25, type: "ADDED" }));
    await send(snap("web", 3));
    await send(completedEvent({ requestId: "r1", count: 1, rv: 20 }));
    expect(names()).toEqual(["shop/new", "shop/web"]);
  });

  it("counts a snapshot object it already held under the same webhook-id", async () => {
    const { send, names } = await start();
    await send(objectEvent({ name: "web", rv: 3, type: "ADDED" }));
    await send(objectEvent({ name: "gone", rv: 4, type: "ADDED" }));
    // The snapshot's event id is the object's usual id: it is not a duplicate for the snapshot.
    expect(await send(snap("web", 3))).toBe("ignored");
    await send(completedEvent({ requestId: "r1", count: 1, rv: 20 }));
    expect(names()).toEqual(["shop/web"]);
  });

  it("sweeps after sweepAfterMs when objects never come, and takes back a late one", async () => {
    const { send, names } = await start({ sweepAfterMs: 50 });
    await send(objectEvent({ name: "gone", rv: 2, type: "ADDED" }));
    await send(objectEvent({ name: "late", rv: 3, type: "ADDED" }));
    await send(snap("web", 4));
    await send(completedEvent({ requestId: "r1", count: 3, rv: 20 }));
    await waitFor(() => names().join() === "shop/web", { message: "the timed sweep" });
    // Swept too early: the snapshot itself says it existed.
    expect(await send(snap("late", 3))).toBe("applied");
    expect(names()).toEqual(["shop/late", "shop/web"]);
  });

  it("ignores a completion older than the last sweep, and a repeated one", async () => {
    const { send, names } = await start();
    await send(snap("web", 3, "r2"));
    await send(completedEvent({ requestId: "r2", count: 1, rv: 30 }));
    await send(objectEvent({ name: "api", rv: 10, type: "ADDED" })); // a late retry of an old event
    expect(await send(completedEvent({ requestId: "r1", count: 0, rv: 20 }))).toBe("ignored");
    expect(await send(completedEvent({ requestId: "r2", count: 1, rv: 30 }))).toBe("duplicate");
    expect(names()).toEqual(["shop/api", "shop/web"]);
  });

  it("an empty snapshot (count 0) removes everything of that cluster and resource", async () => {
    const { send, names } = await start();
    await send(objectEvent({ name: "web", rv: 3, type: "ADDED" }));
    await send(completedEvent({ requestId: "r1", count: 0, rv: 20 }));
    expect(names()).toEqual([]);
    // The sweep's tombstone stops a late older event; a newer one is applied.
    expect(await send(objectEvent({ name: "web", rv: 5, type: "MODIFIED" }))).toBe("ignored");
    expect(await send(objectEvent({ name: "web", rv: 21, type: "ADDED" }))).toBe("applied");
  });

  it("two overlapping snapshots: the older one's sweep still sees objects the newer one re-delivered", async () => {
    const { send, names } = await start();
    for (const [name, rv] of [
      ["web", 3],
      ["api", 4],
      ["gone", 5],
    ] as const) {
      await send(objectEvent({ name, rv, type: "ADDED" }));
    }
    await send(snap("web", 3, "r1"));
    await send(completedEvent({ requestId: "r1", count: 2, rv: 20 }));
    await send(snap("web", 3, "r2")); // a second resync overtakes r1's retried object
    await send(snap("api", 4, "r2"));
    await send(snap("api", 4, "r1")); // r1 complete: its sweep runs
    expect(names()).toEqual(["shop/api", "shop/web"]);
    expect(await send(completedEvent({ requestId: "r2", count: 2, rv: 21 }))).toBe("applied");
    expect(names()).toEqual(["shop/api", "shop/web"]);
  });

  it("a completion waiting for objects survives a restart with the file store", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mcic-receiver-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const first = await start({ store: fileStore(dir) });
    await first.send(objectEvent({ name: "gone", rv: 2, type: "ADDED" }));
    await first.send(snap("web", 3));
    await first.send(completedEvent({ requestId: "r1", count: 2, rv: 20 }));
    await first.receiver.close();
    const second = await start({ store: fileStore(dir) });
    await second.receiver.ready;
    expect(second.names()).toEqual(["shop/gone", "shop/web"]);
    await second.send(snap("api", 4));
    expect(second.names()).toEqual(["shop/api", "shop/web"]);
  });
});
