import {
  type DeliveryRequest,
  type Envelope,
  type NatsConnection,
  SecretBox,
  type SnapshotClusterOutcome,
  type StoredServer,
  connectNats,
  createLogger,
  snapshotRequestSubject,
} from "@mcic/core";
import { type TestServer, startNats, waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResourceSnapshot } from "./cluster-watch.js";
import { SnapshotResponder, type SnapshotResponderOptions } from "./snapshot-responder.js";

const INGRESSES = { group: "networking.k8s.io", version: "v1", resource: "ingresses" };
const SERVICES = { group: "", version: "v1", resource: "services" };

function object(namespace: string, name: string, rv: string): Envelope {
  return {
    id: `east/${name}/${rv}/ADDED`,
    cluster: "east",
    ...INGRESSES,
    kind: "Ingress",
    namespace,
    name,
    uid: name,
    resourceVersion: rv,
    type: "ADDED",
    observedAt: "t",
    object: { metadata: { namespace, name } },
    snapshot: true,
  };
}

describe("SnapshotResponder", () => {
  let server: TestServer;
  let nats: NatsConnection;

  beforeAll(async () => {
    server = await startNats();
    nats = await connectNats(server.url, "responder-test");
  });
  afterAll(async () => {
    await nats?.close();
    await server?.stop();
  });

  it("queues matching objects with the requestId, a completed notice per resource, and each cluster's outcome", async () => {
    // Two namespaces listed at different points in time, then a resource whose list fails.
    const sources: ResourceSnapshot[] = [
      {
        ref: INGRESSES,
        async *objects(_signal, onListVersion) {
          onListVersion("12");
          yield object("shop", "web", "11");
          yield object("blog", "www", "5");
          onListVersion("10");
          yield object("shop", "api", "9");
        },
      },
      {
        ref: SERVICES,
        // biome-ignore lint/correctness/useYield: a list that fails before its first page
        async *objects() {
          throw Object.assign(new Error("connect ECONNREFUSED 10.1.1.1:6443"), { code: "ECONNREFUSED" });
        },
      },
    ];
    const published: { subject: string; request: DeliveryRequest; msgID: string }[] = [];
    const outcomes: SnapshotClusterOutcome[] = [];
    const stored = { name: "lb", filters: { namespaces: ["shop"] } } as unknown as StoredServer;
    const options = {
      nats,
      js: {
        publish: async (subject: string, data: string, opts: { msgID: string }) => {
          published.push({ subject, request: JSON.parse(data), msgID: opts.msgID });
          return { seq: published.length };
        },
      },
      prefix: "t",
      registry: {
        getServer: async () => stored,
      },
      supervisor: {
        watcherId: "w1",
        clusters: ["east", "west"],
        watchOf: (name: string) => (name === "east" ? { snapshotSources: () => sources } : undefined),
      },
      outcomes: {
        record: async (_server: string, _requestId: string, o: SnapshotClusterOutcome) => {
          outcomes.push(o);
          return true;
        },
      },
      box: new SecretBox(Buffer.alloc(32, 7)),
      logger: createLogger({ name: "test", level: "silent" }),
    } as unknown as SnapshotResponderOptions;
    const responder = new SnapshotResponder(options);
    responder.start();
    try {
      await nats.flush();
      const reply = await nats.request(snapshotRequestSubject("t"), JSON.stringify({ requestId: "r1", server: "lb" }));
      expect(reply.json()).toEqual({ watcherId: "w1", clusters: ["east", "west"] });
      await waitFor(() => outcomes.length === 2, { message: "both clusters' outcomes" });

      expect(outcomes).toEqual([
        { cluster: "east", state: "failed", reason: "cluster unreachable: connection refused", at: expect.any(String) },
        { cluster: "west", state: "failed", reason: "watch not ready: no longer held", at: expect.any(String) },
      ]);
      expect(published.every((p) => p.subject === "t.deliveries.lb" && p.request.reason === "snapshot")).toBe(true);
      expect(published.map((p) => p.msgID)).toEqual([
        "snapshot/r1/web",
        "snapshot/r1/api",
        "snapshot/r1/east/networking_k8s_io/ingresses",
      ]);
      expect(published.slice(0, 2).map((p) => p.request.envelope.requestId)).toEqual(["r1", "r1"]);
      // Counted after the server's filters; the oldest list is the point in time.
      expect(published[2]?.request.envelope).toMatchObject({
        resourceVersion: "10",
        requestId: "r1",
        snapshotCompleted: { count: 2 },
      });
    } finally {
      await responder.stop();
    }
  });
});
