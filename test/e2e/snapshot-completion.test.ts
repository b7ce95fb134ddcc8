import { createServer } from "node:net";
import { type Receiver, startReceiver, waitFor } from "@mcic/core/testing";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { useSimStack } from "../support/sim-stack.js";

const INGRESSES = "networking.k8s.io/v1/ingresses";
const COMPLETED = "dev.mcic.snapshot.completed";

interface Outcome {
  cluster: string;
  state: string;
  reason?: string;
  objects?: number;
}
interface SnapshotStatus {
  requestId: string;
  clusters: Outcome[];
}

/** Verifies every request with the standardwebhooks library and returns the CloudEvents. */
function verified(secret: string, receiver: Receiver): any[] {
  return receiver.requests.map((req) => {
    const event = new Webhook(secret).verify(req.body, {
      "webhook-id": String(req.headers["webhook-id"]),
      "webhook-timestamp": String(req.headers["webhook-timestamp"]),
      "webhook-signature": String(req.headers["webhook-signature"]),
    }) as { id: string };
    expect(req.headers["webhook-id"]).toBe(event.id);
    return event;
  });
}

/** A loopback port nothing listens on: a cluster registered there is unreachable. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("snapshot completion and honest resync", () => {
  const env = useSimStack();

  /** The snapshot's outcome: from the resync answer when final, else from the server's status. */
  async function finalOutcome(server: string, answer: { status: number; body: SnapshotStatus }) {
    if (answer.status === 200) return answer.body;
    expect(answer.status).toBe(202);
    return waitFor(
      async () => {
        const status: SnapshotStatus = (await env.stack.api(`/api/v1/servers/${server}`)).body.status.snapshot;
        return status.requestId === answer.body.requestId && status.clusters.every((c) => c.state !== "pending")
          ? status
          : undefined;
      },
      { timeoutMs: 20_000, message: `the snapshot of ${server} to be final` },
    );
  }

  async function waitWatching(cluster: string): Promise<void> {
    await waitFor(
      async () =>
        (await env.stack.api(`/api/v1/clusters/${cluster}`)).body.status?.resources?.every(
          (r: { state: string }) => r.state === "watching",
        ),
      { timeoutMs: 15_000, message: `cluster ${cluster} to be watching` },
    );
  }

  it("delivers N snapshot ADDED events with the requestId, then one completed event per resource with count N", async () => {
    const sc = env.sim.cluster("east");
    sc.create(INGRESSES, { metadata: { namespace: "shop", name: "web" } });
    sc.create(INGRESSES, { metadata: { namespace: "shop", name: "api" } });
    sc.create(INGRESSES, { metadata: { namespace: "blog", name: "www" } });
    const receiver = await startReceiver();
    try {
      const cluster = await env.stack.api("/api/v1/clusters", {
        body: { name: "east", server: sc.url, resources: ["ingresses", "services"] },
      });
      expect(cluster.status).toBe(201);
      await waitWatching("east");
      const created = await env.stack.api("/api/v1/servers", {
        body: { name: "shop-only", url: receiver.url, snapshot: false, filters: { namespaces: ["shop"] } },
      });
      expect(created.status).toBe(201);

      const answer = await env.stack.api("/api/v1/servers/shop-only/resync", { method: "POST" });
      const outcome = await finalOutcome("shop-only", answer);
      expect(outcome.clusters).toEqual([{ cluster: "east", state: "taken", objects: 2, at: expect.any(String) }]);
      const { requestId } = answer.body;

      // Two ingresses of shop and the completed events of ingresses (2) and services (0), in any order.
      await receiver.waitForCount(4, 20_000);
      const events = verified(created.body.secret, receiver);
      const objects = events.filter((e) => e.type !== COMPLETED);
      expect(objects.map((e) => `${e.type} ${e.subject} ${e.data.snapshot} ${e.data.requestId}`).sort()).toEqual([
        `dev.mcic.ingresses.added shop/api true ${requestId}`,
        `dev.mcic.ingresses.added shop/web true ${requestId}`,
      ]);
      const completed = events.filter((e) => e.type === COMPLETED);
      expect(completed.map(({ time, data, ...e }) => e).sort((a, b) => a.id.localeCompare(b.id))).toEqual([
        {
          specversion: "1.0",
          id: `snapshot/${requestId}/east/core/services`,
          source: "/clusters/east",
          type: COMPLETED,
          subject: "services",
          datacontenttype: "application/json",
        },
        {
          specversion: "1.0",
          id: `snapshot/${requestId}/east/networking_k8s_io/ingresses`,
          source: "/clusters/east",
          type: COMPLETED,
          subject: "ingresses",
          datacontenttype: "application/json",
        },
      ]);
      const ingresses = completed.find((e) => e.subject === "ingresses")?.data;
      expect(ingresses).toEqual({
        cluster: "east",
        group: "networking.k8s.io",
        version: "v1",
        resource: "ingresses",
        requestId,
        count: 2,
        resourceVersion: expect.stringMatching(/^\d+$/),
      });
      // The list's point in time is at or after every object it returned.
      for (const o of objects) expect(BigInt(ingresses.resourceVersion) >= BigInt(o.data.resourceVersion)).toBe(true);
      expect(completed.find((e) => e.subject === "services")?.data).toMatchObject({ group: "", count: 0, requestId });
    } finally {
      await receiver.close();
    }
  });

  it("ends a registration's snapshot with completed events and shows its outcome in the status", async () => {
    const receiver = await startReceiver();
    try {
      const created = await env.stack.api("/api/v1/servers", {
        body: { name: "newcomer", url: receiver.url, filters: { clusters: ["east"], resources: ["ingresses"] } },
      });
      expect(created.status).toBe(201);
      const status = await waitFor(
        async () => {
          const s: SnapshotStatus = (await env.stack.api("/api/v1/servers/newcomer")).body.status.snapshot;
          return s?.clusters.length && s.clusters.every((c) => c.state !== "pending") ? s : undefined;
        },
        { timeoutMs: 20_000, message: "the registration snapshot to be final" },
      );
      expect(status.clusters).toEqual([{ cluster: "east", state: "taken", objects: 3, at: expect.any(String) }]);
      await receiver.waitForCount(4, 20_000);
      const completed = verified(created.body.secret, receiver).filter((e) => e.type === COMPLETED);
      // The filter allows ingresses only: no completed event for services.
      expect(completed.map((e) => e.data)).toEqual([
        expect.objectContaining({ resource: "ingresses", requestId: status.requestId, count: 3 }),
      ]);
    } finally {
      await receiver.close();
    }
  });

  it("resync reporting a failed cluster: one healthy cluster taken, one unreachable failed with the reason", async () => {
    const receiver = await startReceiver();
    try {
      const port = await deadPort();
      const dead = await env.stack.api("/api/v1/clusters", {
        body: { name: "gone", server: `http://127.0.0.1:${port}` },
      });
      expect(dead.status).toBe(201);
      // Owned by the watcher (which reports the cluster's error) before the resync asks for it.
      await waitFor(
        async () =>
          (await env.stack.api("/api/v1/clusters/gone")).body.status?.resources?.some(
            (r: { watcherId?: string }) => r.watcherId,
          ),
        { timeoutMs: 15_000, message: "a watcher to own cluster gone" },
      );
      const created = await env.stack.api("/api/v1/servers", {
        body: { name: "both", url: receiver.url, snapshot: false, filters: { clusters: ["east", "gone"] } },
      });
      expect(created.status).toBe(201);

      const answer = await env.stack.api("/api/v1/servers/both/resync", { method: "POST" });
      const outcome = await finalOutcome("both", answer);
      expect(outcome.clusters).toEqual([
        { cluster: "east", state: "taken", objects: 3, at: expect.any(String) },
        { cluster: "gone", state: "failed", reason: "cluster unreachable: connection refused", at: expect.any(String) },
      ]);
      expect((await env.stack.api("/api/v1/servers/both")).body.status.snapshot).toEqual(outcome);
      // The healthy cluster's part arrives whole: 3 ingresses and the completed events of its two
      // resources; none for the failed cluster.
      await receiver.waitForCount(5, 20_000);
      const completed = verified(created.body.secret, receiver).filter((e) => e.type === COMPLETED);
      expect(completed.map((e) => `${e.data.cluster} ${e.data.resource} ${e.data.count}`).sort()).toEqual([
        "east ingresses 3",
        "east services 0",
      ]);
    } finally {
      await receiver.close();
    }
  });

  it("retries a completed event like any delivery, and dead-letters and replays it", async () => {
    const receiver = await startReceiver();
    // First the completed event is refused once with 503 (retried), then with 400 (dead-lettered at once).
    let mode: "retry" | "reject" | "accept" = "retry";
    let refused = 0;
    receiver.respond = (req) => {
      if (!req.body.includes(COMPLETED) || mode === "accept") return { status: 204 };
      if (mode === "reject") return { status: 400 };
      return refused++ === 0 ? { status: 503 } : { status: 204 };
    };
    try {
      const created = await env.stack.api("/api/v1/servers", {
        body: {
          name: "fussy",
          url: receiver.url,
          snapshot: false,
          filters: { clusters: ["east"], resources: ["ingresses"] },
        },
      });
      expect(created.status).toBe(201);
      const first = await env.stack.api("/api/v1/servers/fussy/resync", { method: "POST" });
      const firstId = `snapshot/${first.body.requestId}/east/networking_k8s_io/ingresses`;
      await waitFor(() => receiver.delivered().some((e: any) => e.id === firstId), {
        timeoutMs: 20_000,
        message: "the completed event to be delivered after its retry",
      });
      // Refused once (503), then taken: two attempts, the same id, both signed.
      expect(verified(created.body.secret, receiver).filter((e) => e.id === firstId)).toHaveLength(2);

      mode = "reject";
      const second = await env.stack.api("/api/v1/servers/fussy/resync", { method: "POST" });
      const completedId = `snapshot/${second.body.requestId}/east/networking_k8s_io/ingresses`;
      const letters = await waitFor(
        async () => {
          const res = await env.stack.api("/api/v1/servers/fussy/dead-letters");
          return res.body.length === 1 && res.body;
        },
        { timeoutMs: 20_000, message: "the completed event dead-lettered" },
      );
      expect(letters[0]).toMatchObject({ eventId: completedId, status: 400 });
      mode = "accept";
      expect((await env.stack.api("/api/v1/servers/fussy/dead-letters/replay", { method: "POST" })).status).toBe(202);
      const replayed = await waitFor(() => receiver.delivered().find((e: any) => e.id === completedId) as any, {
        timeoutMs: 20_000,
        message: "the replayed completed event",
      });
      expect(replayed).toMatchObject({
        type: COMPLETED,
        data: { cluster: "east", resource: "ingresses", requestId: second.body.requestId, count: 3 },
      });
      // Signed like every delivery.
      verified(created.body.secret, receiver);
    } finally {
      await receiver.close();
    }
  });

  it("answers 404 naming the server for a resync of an unknown server", async () => {
    const res = await env.stack.api("/api/v1/servers/nobody/resync", { method: "POST" });
    expect(res.status).toBe(404);
    expect(res.body.detail).toContain("nobody");
  });
});
