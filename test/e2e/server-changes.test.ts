import { type Receiver, type TestServer, startNats, startReceiver, startRedis, waitFor } from "@mcic/core/testing";
import { eventsStreamName } from "@mcic/core";
import { jetstreamManager } from "@nats-io/jetstream";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventPublisher, ingressEnvelope } from "../support/events.js";
import { type ServiceProcess, type Stack, startService, startStack } from "../support/stack.js";

/** One object per cluster: the order guard compares versions per server and object uid. */
const eventIn = (cluster: string, rv = 1) => ingressEnvelope(cluster, "web", rv, "MODIFIED", `uid-${cluster}`);

/** Clusters of the events a receiver accepted. */
const clustersOf = (r: Receiver) =>
  new Set((r.delivered() as { data: { cluster: string } }[]).map((e) => e.data.cluster));

// The API answers a server change only once every live dispatcher applied it, so an event made
// right after the answer is matched against the new registration. Without that wait these
// loops lose events: a dispatcher learns of the change a few milliseconds after the answer.
describe("server changes reach every dispatcher before the API answers", () => {
  let nats: TestServer;
  let redis: TestServer;
  let stack: Stack;
  let second: ServiceProcess;
  let events: EventPublisher;
  let receiver: Receiver;

  beforeAll(async () => {
    [nats, redis, receiver] = await Promise.all([startNats(), startRedis(), startReceiver()]);
    stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url });
    second = startService("dispatcher", { ...stack.env });
    await second.waitForLog("ready");
    events = await EventPublisher.connect(nats.url);
    // A few hundred registrations make each dispatcher's reload take what it takes in production.
    for (let batch = 0; batch < 10; batch++) {
      const made = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          stack.api("/api/v1/servers", {
            body: {
              name: `filler-${batch}-${i}`,
              url: receiver.url,
              filters: { clusters: ["nowhere"] },
              snapshot: false,
            },
          }),
        ),
      );
      expect(made.map((r) => r.status)).toEqual(made.map(() => 201));
    }
  }, 120_000);
  afterAll(async () => {
    await events?.close();
    await second?.kill("SIGTERM");
    await stack?.stop();
    await Promise.all([receiver?.close(), nats?.stop(), redis?.stop()]);
  });

  /** True once the dispatchers settled every event published so far (acked after all its deliveries). */
  async function eventsSettled(): Promise<boolean> {
    const jsm = await jetstreamManager(events.nc);
    const info = await jsm.consumers.info(eventsStreamName("mcic"), `${eventsStreamName("mcic")}_dispatch`);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }

  it("an event made right after POST /servers answered is delivered to the new server, 20 times in a row", async () => {
    for (let i = 0; i < 20; i++) {
      const res = await stack.api("/api/v1/servers", {
        body: { name: `new-${i}`, url: receiver.url, filters: { clusters: [`new-${i}`] }, snapshot: false },
      });
      expect(res.status).toBe(201);
      expect(res.headers.get("x-mcic-dispatchers")).toBe("applied");
      await events.publish([eventIn(`new-${i}`)]);
    }
    const wanted = Array.from({ length: 20 }, (_, i) => `new-${i}`);
    await waitFor(() => eventsSettled(), { message: "every event settled" });
    const got = clustersOf(receiver);
    expect(wanted.filter((c) => !got.has(c))).toEqual([]);
  });

  it("an event made right after PUT changed the filters is delivered under the new filters, 20 times", async () => {
    for (let i = 0; i < 20; i++) {
      const res = await stack.api(`/api/v1/servers/new-${i}`, {
        method: "PUT",
        body: { name: `new-${i}`, url: receiver.url, filters: { clusters: [`moved-${i}`] }, snapshot: false },
      });
      expect(res.status).toBe(200);
      await events.publish([eventIn(`moved-${i}`)]);
    }
    await waitFor(() => eventsSettled(), { message: "every event settled" });
    const got = clustersOf(receiver);
    expect(Array.from({ length: 20 }, (_, i) => `moved-${i}`).filter((c) => !got.has(c))).toEqual([]);
  });

  it("an event made right after rotate-secret answered is signed with the new secret", async () => {
    const rx = await startReceiver();
    try {
      const made = await stack.api("/api/v1/servers", {
        body: { name: "rotating", url: rx.url, filters: { clusters: ["rot"] }, snapshot: false },
      });
      expect(made.status).toBe(201);
      for (let i = 1; i <= 10; i++) {
        const rotated = await stack.api("/api/v1/servers/rotating/rotate-secret", { body: {} });
        expect(rotated.status).toBe(200);
        await events.publish([eventIn("rot", i)]);
        const [request] = (await rx.waitForCount(i)).slice(i - 1);
        // Verifies against the new secret only: a dispatcher still signing with the old one fails here.
        expect(() =>
          new Webhook(rotated.body.secret).verify(request?.body ?? "", {
            "webhook-id": String(request?.headers["webhook-id"]),
            "webhook-timestamp": String(request?.headers["webhook-timestamp"]),
            "webhook-signature": String(request?.headers["webhook-signature"]),
          }),
        ).not.toThrow();
      }
    } finally {
      await rx.close();
    }
  });

  it("a server gets nothing made after DELETE answered, while a server with the same filters gets it", async () => {
    for (let i = 0; i < 10; i++) {
      const [doomed, witness] = await Promise.all([startReceiver(), startReceiver()]);
      try {
        for (const [name, rx] of [
          [`doomed-${i}`, doomed],
          [`witness-${i}`, witness],
        ] as const) {
          const res = await stack.api("/api/v1/servers", {
            body: { name, url: rx.url, filters: { clusters: [`gone-${i}`] }, snapshot: false },
          });
          expect(res.status).toBe(201);
        }
        await events.publish([eventIn(`gone-${i}`, 1)]);
        await Promise.all([doomed.waitForCount(1), witness.waitForCount(1)]);

        const res = await stack.api(`/api/v1/servers/doomed-${i}`, { method: "DELETE" });
        expect(res.status).toBe(204);
        await events.publish([eventIn(`gone-${i}`, 2)]);
        await witness.waitForCount(2);
        await waitFor(() => eventsSettled(), { message: "the event settled" });
        expect(doomed.requests).toHaveLength(1);
      } finally {
        await Promise.all([doomed.close(), witness.close()]);
      }
    }
  });
});
