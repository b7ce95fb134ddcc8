import { randomBytes } from "node:crypto";
import {
  DeliveryRequestSchema,
  type Envelope,
  LAST_APPLIED_ANNOTATION,
  SecretBox,
  type SnapshotClusterOutcome,
  SnapshotStatusStore,
  deliveriesStreamName,
  deliverySubject,
  ensureDeliveriesStream,
  redisKeys,
  sealSecretValues,
  snapshotRequestSubject,
} from "@mcic/core";
import { type Receiver, startReceiver } from "@mcic/core/testing";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { Subscription } from "@nats-io/transport-node";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./test-harness.js";

const envelope = (uid: string, rv: string) => ({
  id: `c1/${uid}/${rv}/MODIFIED`,
  cluster: "c1",
  group: "networking.k8s.io",
  version: "v1",
  resource: "ingresses",
  kind: "Ingress",
  namespace: "shop",
  name: `web-${uid}`,
  uid,
  resourceVersion: rv,
  type: "MODIFIED",
  observedAt: "2026-01-01T00:00:00.000Z",
  object: { metadata: { name: `web-${uid}`, namespace: "shop" } },
});
const deadLetter = (id: string, uid: string) => ({
  id,
  eventId: envelope(uid, "7").id,
  status: 400,
  error: "answered 400",
  attempts: 1,
  at: "2026-01-01T00:00:01.000Z",
  envelope: envelope(uid, "7"),
});

describe("server operations: deliveries, dead letters, replay, test, resync", () => {
  let h: Harness;
  let jsm: JetStreamManager;
  const stream = deliveriesStreamName("t");

  beforeAll(async () => {
    h = await startHarness();
    jsm = await jetstreamManager(h.nats);
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    await h.redis.flushall();
    await jsm.streams.purge(stream);
  });

  const streamed = async () => {
    const { state } = await jsm.streams.info(stream);
    const out = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      if (m) out.push({ subject: m.subject, msgId: m.header.get("Nats-Msg-Id"), request: m.json() });
    }
    return out;
  };

  it("lists recent deliveries newest first, filtered by outcome and limited", async () => {
    await h.call("POST", "/api/v1/servers", { name: "d1", url: "http://127.0.0.1:9/", snapshot: false });
    const outcomes = ["delivered", "retrying", "dead-lettered", "delivered", "retrying"] as const;
    // LPUSH puts the newest first, as dispatchers write it.
    for (const [i, outcome] of outcomes.entries()) {
      await h.redis.lpush(
        "t:{server:d1}:deliveries",
        JSON.stringify({
          eventId: `e${i}`,
          attempt: 1,
          status: outcome === "delivered" ? 204 : 503,
          outcome,
          durationMs: 3,
          at: `2026-01-01T00:00:0${i}.000Z`,
        }),
      );
    }
    await h.redis.lpush("t:{server:d1}:deliveries", "{not json");
    const all = await h.call("GET", "/api/v1/servers/d1/deliveries");
    expect(all.status).toBe(200);
    expect(all.body.map((r: { eventId: string }) => r.eventId)).toEqual(["e4", "e3", "e2", "e1", "e0"]);
    expect(all.body[0]).toEqual({
      eventId: "e4",
      attempt: 1,
      status: 503,
      outcome: "retrying",
      durationMs: 3,
      at: "2026-01-01T00:00:04.000Z",
    });
    const retrying = await h.call("GET", "/api/v1/servers/d1/deliveries?outcome=retrying");
    expect(retrying.body.map((r: { eventId: string }) => r.eventId)).toEqual(["e4", "e1"]);
    const limited = await h.call("GET", "/api/v1/servers/d1/deliveries?outcome=delivered&limit=1");
    expect(limited.body.map((r: { eventId: string }) => r.eventId)).toEqual(["e3"]);
    expect((await h.call("GET", "/api/v1/servers/d1/deliveries?limit=2")).body).toHaveLength(1); // + the bad one
    expect(h.logLines.join("")).toContain("skipping an unreadable list entry");
  });

  it("lists dead letters, replays chosen ones and then all into the deliveries stream, once", async () => {
    await h.call("POST", "/api/v1/servers", { name: "r1", url: "http://127.0.0.1:9/", snapshot: false });
    const letters = [deadLetter("dl-a", "u1"), deadLetter("dl-b", "u2"), deadLetter("dl-c", "u3")];
    for (const l of letters) await h.redis.lpush("t:{server:r1}:dead-letters", JSON.stringify(l));
    await h.redis.hset("t:{server:r1}:status", { deadLetters: "3" });

    const listed = await h.call("GET", "/api/v1/servers/r1/dead-letters?limit=2");
    expect(listed.status).toBe(200);
    expect(listed.headers.get("x-total-count")).toBe("3");
    expect(listed.body).toEqual([letters[2], letters[1]]);

    const one = await h.call("POST", "/api/v1/servers/r1/dead-letters/replay", { ids: ["dl-a"] });
    expect(one.status).toBe(202);
    expect(one.body).toEqual({ replayed: 1 });
    expect((await h.call("GET", "/api/v1/servers/r1/dead-letters")).body.map((l: { id: string }) => l.id)).toEqual([
      "dl-c",
      "dl-b",
    ]);
    // `pending` is the durable queue's count, which the dispatcher writes; the API leaves it alone.
    expect(await h.redis.hgetall("t:{server:r1}:status")).toEqual({ deadLetters: "2" });
    const [first] = await streamed();
    expect(first?.subject).toBe(deliverySubject("t", "r1"));
    expect(first?.msgId).toBe("replay/dl-a");
    const request = DeliveryRequestSchema.parse(first?.request);
    expect(request).toMatchObject({ server: "r1", envelope: letters[0]?.envelope, attempt: 1, reason: "replay" });
    expect(request.notBefore).toBe(request.firstAttemptAt);
    expect(Date.now() - Date.parse(request.notBefore)).toBeLessThan(10_000);
    expect((await h.call("GET", "/api/v1/servers/r1")).body.status).toMatchObject({ deadLetters: 2 });

    // Replayed ids are gone from the list: naming one again is an unknown id.
    const again = await h.call("POST", "/api/v1/servers/r1/dead-letters/replay", { ids: ["dl-a"] });
    expect(again.status).toBe(400);
    expect(again.body.errors).toEqual([{ path: "ids.0", message: 'no dead letter "dl-a"' }]);

    // No body at all: every dead letter.
    const rest = await fetch(`${h.base}/api/v1/servers/r1/dead-letters/replay`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.token}` },
    });
    expect(rest.status).toBe(202);
    expect(await rest.json()).toEqual({ replayed: 2 });
    expect(await h.redis.llen("t:{server:r1}:dead-letters")).toBe(0);
    expect(await h.redis.hgetall("t:{server:r1}:status")).toEqual({ deadLetters: "0" });
    expect((await streamed()).map((m) => m.msgId)).toEqual(["replay/dl-a", "replay/dl-b", "replay/dl-c"]);

    // The same dead letter back in the list (a retried request, say): the stream keeps it once.
    await h.redis.lpush("t:{server:r1}:dead-letters", JSON.stringify(letters[0]));
    expect((await h.call("POST", "/api/v1/servers/r1/dead-letters/replay", {})).body).toEqual({ replayed: 1 });
    expect(await streamed()).toHaveLength(3);
    expect((await h.call("POST", "/api/v1/servers/r1/dead-letters/replay", {})).body).toEqual({ replayed: 0 });
  });

  it("lists a Secret's dead letters without its values or their sealed blob, and replays them still sealed", async () => {
    const password = Buffer.from("hunter2").toString("base64");
    const lastApplied = JSON.stringify({ kind: "Secret", data: { password } });
    const secret: Envelope = {
      ...envelope("s1", "8"),
      group: "",
      resource: "secrets",
      kind: "Secret",
      object: {
        metadata: { name: "db", namespace: "shop", annotations: { [LAST_APPLIED_ANNOTATION]: lastApplied } },
        data: { password },
      },
    } as Envelope;
    const sealed = sealSecretValues(secret, new SecretBox(randomBytes(32)));
    const letter = (id: string, e: Envelope) => ({ ...deadLetter(id, "s1"), eventId: e.id, envelope: e });
    const redactedObject = {
      metadata: { name: "db", namespace: "shop", annotations: { [LAST_APPLIED_ANNOTATION]: "REDACTED" } },
      data: { password: "REDACTED" },
    };
    for (const includeSecretData of [false, true]) {
      const name = includeSecretData ? "opted-in" : "plain";
      await h.call("POST", "/api/v1/servers", {
        name,
        url: "http://127.0.0.1:9/",
        snapshot: false,
        includeSecretData,
      });
      // One sealed as watchers store them now, one in clear as stored before values were sealed.
      await h.redis.lpush(`t:{server:${name}}:dead-letters`, JSON.stringify(letter("dl-sealed", sealed)));
      await h.redis.lpush(`t:{server:${name}}:dead-letters`, JSON.stringify(letter("dl-clear", secret)));
      const listed = await h.call("GET", `/api/v1/servers/${name}/dead-letters`);
      expect(listed.status).toBe(200);
      const text = JSON.stringify(listed.body);
      expect(text).not.toContain("sealedSecretValues");
      expect(text).not.toContain(sealed.sealedSecretValues);
      const byId = new Map(listed.body.map((l: { id: string; envelope: Envelope }) => [l.id, l.envelope.object]));
      expect(byId.get("dl-sealed")).toEqual(redactedObject);
      // The API never opens sealed values; values it already had in clear follow includeSecretData.
      expect(byId.get("dl-clear")).toEqual(includeSecretData ? secret.object : redactedObject);
    }

    expect((await h.call("POST", "/api/v1/servers/plain/dead-letters/replay", { ids: ["dl-sealed"] })).status).toBe(
      202,
    );
    const [replayed] = await streamed();
    expect(DeliveryRequestSchema.parse(replayed?.request).envelope).toEqual(sealed);
  });

  it("keeps dead letters when the delivery queue is unavailable, and says so with a 503", async () => {
    await h.call("POST", "/api/v1/servers", { name: "r2", url: "http://127.0.0.1:9/", snapshot: false });
    await h.redis.lpush("t:{server:r2}:dead-letters", JSON.stringify(deadLetter("dl-x", "u9")));
    await jsm.streams.delete(stream);
    try {
      const before = await h.snapshot();
      const res = await h.call("POST", "/api/v1/servers/r2/dead-letters/replay");
      expect(res.status).toBe(503);
      expect(res.type).toContain("application/problem+json");
      expect(res.body).toMatchObject({ type: "urn:mcic:problem:unavailable", status: 503 });
      expect(await h.snapshot()).toEqual(before);
    } finally {
      await ensureDeliveriesStream(h.nats, { prefix: "t", replicas: 1 });
    }
  });

  describe("test", () => {
    let receiver: Receiver;
    beforeAll(async () => {
      receiver = await startReceiver();
    });
    afterAll(async () => {
      await receiver.close();
    });
    afterEach(() => {
      receiver.reset();
      receiver.respond = () => ({ status: 204 });
    });

    it("sends one signed dev.mcic.ping CloudEvent with the server's headers and answers the result", async () => {
      const secret = `whsec_${Buffer.from("0123456789abcdef0123456789abcdef").toString("base64")}`;
      await h.call("POST", "/api/v1/servers", {
        name: "ping-me",
        url: receiver.url,
        secret,
        headers: { "X-Api-Key": "key-1" },
        snapshot: false,
      });
      const res = await h.call("POST", "/api/v1/servers/ping-me/test");
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true, status: 204, durationMs: expect.any(Number) });
      const [req] = await receiver.waitForCount(1);
      expect(req?.headers["content-type"]).toBe("application/cloudevents+json");
      expect(req?.headers["x-api-key"]).toBe("key-1");
      const event = new Webhook(secret).verify(req?.body ?? "", {
        "webhook-id": String(req?.headers["webhook-id"]),
        "webhook-timestamp": String(req?.headers["webhook-timestamp"]),
        "webhook-signature": String(req?.headers["webhook-signature"]),
      }) as Record<string, unknown>;
      expect(event).toEqual({
        specversion: "1.0",
        id: expect.stringMatching(/^ping\/[0-9a-f-]{36}$/),
        source: "/mcic",
        type: "dev.mcic.ping",
        subject: "ping-me",
        time: expect.any(String),
        datacontenttype: "application/json",
        data: { message: "ping from mcic" },
      });
      expect(req?.headers["webhook-id"]).toBe(event.id);
      // Nothing is recorded: a test is not a delivery.
      expect(await h.redis.exists("t:{server:ping-me}:deliveries", "t:{server:ping-me}:status")).toBe(0);
    });

    it("answers 200 with ok false when the server fails or cannot be reached", async () => {
      await h.call("POST", "/api/v1/servers", { name: "failing", url: receiver.url, snapshot: false });
      receiver.respond = () => ({ status: 500 });
      const failed = await h.call("POST", "/api/v1/servers/failing/test", {});
      expect(failed.status).toBe(200);
      // The class of the failure, not what the server said.
      expect(failed.body).toEqual({ ok: false, status: 500, durationMs: expect.any(Number), error: "HTTP 500" });
      await h.call("POST", "/api/v1/servers", { name: "nobody", url: "http://127.0.0.1:9/", snapshot: false });
      const unreachable = await h.call("POST", "/api/v1/servers/nobody/test");
      expect(unreachable.status).toBe(200);
      expect(unreachable.body).toMatchObject({ ok: false, status: 0, error: "connection refused" });
    });
  });

  describe("rotate-secret", () => {
    let receiver: Receiver;
    beforeAll(async () => {
      receiver = await startReceiver();
    });
    afterAll(async () => {
      await receiver.close();
    });
    afterEach(() => receiver.reset());

    const secretOf = (n: number) => `whsec_${Buffer.alloc(32, n).toString("base64")}`;
    /** Which of these secrets verify the latest ping the receiver got. */
    const verifyingSecrets = (...secrets: string[]) => {
      const req = receiver.requests.at(-1);
      return secrets.filter((secret) => {
        try {
          new Webhook(secret).verify(req?.body ?? "", {
            "webhook-id": String(req?.headers["webhook-id"]),
            "webhook-timestamp": String(req?.headers["webhook-timestamp"]),
            "webhook-signature": String(req?.headers["webhook-signature"]),
          });
          return true;
        } catch {
          return false;
        }
      });
    };
    const ping = async (name: string) => {
      const before = receiver.requests.length;
      expect((await h.call("POST", `/api/v1/servers/${name}/test`)).body).toMatchObject({ ok: true });
      await receiver.waitForCount(before + 1);
    };

    it("signs pings with the new and the old secret during the grace, and never shows the old one", async () => {
      const old = secretOf(1);
      await h.call("POST", "/api/v1/servers", { name: "rot", url: receiver.url, secret: old, snapshot: false });
      const before = Date.now();
      const res = await h.call("POST", "/api/v1/servers/rot/rotate-secret", { graceSeconds: 3600 });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ secret: expect.stringMatching(/^whsec_/), previousExpiresAt: expect.any(String) });
      const fresh = res.body.secret as string;
      expect(fresh).not.toBe(old);
      const expires = Date.parse(res.body.previousExpiresAt);
      expect(expires).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000);
      expect(res.text).not.toContain(old.slice(6));
      const stored = JSON.parse((await h.redis.get("t:{server:rot}:spec")) ?? "{}");
      expect(stored).toMatchObject({
        previousSecret: expect.stringMatching(/^v2:/),
        previousExpiresAt: expect.any(String),
      });
      expect(JSON.stringify(stored)).not.toContain(old.slice(6));

      await ping("rot");
      expect(String(receiver.requests.at(-1)?.headers["webhook-signature"]).split(" ")).toHaveLength(2);
      expect(verifyingSecrets(fresh, old, secretOf(9))).toEqual([fresh, old]);
      // GET shows neither secret.
      const got = await h.call("GET", "/api/v1/servers/rot");
      expect(got.text).not.toContain(old.slice(6));
      expect(got.text).not.toContain(fresh.slice(6));
    });

    it("takes a chosen secret and, with graceSeconds 0, stops the old one at once", async () => {
      const old = secretOf(2);
      const chosen = secretOf(3);
      await h.call("POST", "/api/v1/servers", { name: "rot0", url: receiver.url, secret: old, snapshot: false });
      const res = await h.call("POST", "/api/v1/servers/rot0/rotate-secret", { graceSeconds: 0, secret: chosen });
      expect(res.status).toBe(200);
      expect(res.body.secret).toBe(chosen);
      expect(Date.parse(res.body.previousExpiresAt)).toBeLessThanOrEqual(Date.now());
      await ping("rot0");
      expect(verifyingSecrets(chosen, old)).toEqual([chosen]);
    });

    it("rotates with a day of overlap when the body is left out", async () => {
      const old = secretOf(4);
      await h.call("POST", "/api/v1/servers", { name: "rotd", url: receiver.url, secret: old, snapshot: false });
      const res = await fetch(`${h.base}/api/v1/servers/rotd/rotate-secret`, {
        method: "POST",
        headers: { authorization: `Bearer ${h.token}` },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { secret: string; previousExpiresAt: string };
      expect(Date.parse(body.previousExpiresAt) - Date.now()).toBeGreaterThan(86_400_000 - 60_000);
      await ping("rotd");
      expect(verifyingSecrets(body.secret, old)).toEqual([body.secret, old]);
    });

    it("keeps only the two latest secrets when rotating again during the grace", async () => {
      const first = secretOf(5);
      await h.call("POST", "/api/v1/servers", { name: "rot2", url: receiver.url, secret: first, snapshot: false });
      const second = (await h.call("POST", "/api/v1/servers/rot2/rotate-secret", {})).body.secret as string;
      const third = (await h.call("POST", "/api/v1/servers/rot2/rotate-secret", {})).body.secret as string;
      await ping("rot2");
      expect(verifyingSecrets(third, second, first)).toEqual([third, second]);
    });

    it("keeps the overlap through a PUT without a secret or with the current one; a new secret ends it", async () => {
      const old = secretOf(6);
      const body = { name: "rotp", url: receiver.url, snapshot: false };
      await h.call("POST", "/api/v1/servers", { ...body, secret: old });
      const fresh = (await h.call("POST", "/api/v1/servers/rotp/rotate-secret", {})).body.secret as string;

      expect((await h.call("PUT", "/api/v1/servers/rotp", { ...body, headers: { "X-A": "1" } })).status).toBe(200);
      await ping("rotp");
      expect(verifyingSecrets(fresh, old)).toEqual([fresh, old]);
      expect((await h.call("PUT", "/api/v1/servers/rotp", { ...body, secret: fresh })).status).toBe(200);
      await ping("rotp");
      expect(verifyingSecrets(fresh, old)).toEqual([fresh, old]);

      const replaced = secretOf(7);
      expect((await h.call("PUT", "/api/v1/servers/rotp", { ...body, secret: replaced })).status).toBe(200);
      await ping("rotp");
      expect(verifyingSecrets(replaced, fresh, old)).toEqual([replaced]);
    });
  });

  describe("resync", () => {
    const subs: Subscription[] = [];
    const requests: { requestId: string; server: string }[] = [];
    /**
     * A fake watcher replying to snapshot requests with the clusters `owns` gives, then recording
     * for each the outcome `finish` gives (none: it stays pending).
     */
    const watcher = (
      watcherId: string,
      owns: (server: string) => string[],
      finish?: (cluster: string) => Omit<SnapshotClusterOutcome, "cluster" | "at">,
    ) => {
      const store = new SnapshotStatusStore(h.redis, redisKeys(h.prefix));
      subs.push(
        h.nats.subscribe(snapshotRequestSubject("t"), {
          callback: (_err, msg) => {
            const request = msg.json<{ requestId: string; server: string }>();
            requests.push(request);
            const clusters = owns(request.server);
            msg.respond(JSON.stringify({ watcherId, clusters }));
            if (!finish) return;
            for (const cluster of clusters) {
              void store.record(request.server, request.requestId, {
                cluster,
                ...finish(cluster),
                at: new Date().toISOString(),
              });
            }
          },
        }),
      );
    };
    const at = expect.any(String);
    afterEach(() => {
      for (const s of subs.splice(0)) s.unsubscribe();
      requests.length = 0;
    });
    beforeEach(async () => {
      for (const name of ["c1", "c2", "c3"]) {
        await h.call("POST", "/api/v1/clusters", { name, server: "https://k.example:6443" });
      }
    });

    it("asks every watcher; clusters still listing are pending (202), nobody's are failed", async () => {
      await h.call("POST", "/api/v1/servers", { name: "rs", url: "http://127.0.0.1:9/", snapshot: false });
      watcher("w1", () => ["c1"]);
      watcher("w2", () => ["c2"]);
      await h.nats.flush();
      const res = await h.call("POST", "/api/v1/servers/rs/resync");
      expect(res.status).toBe(202);
      expect(res.body).toEqual({
        requestId: expect.any(String),
        requestedAt: at,
        clusters: [
          { cluster: "c1", state: "pending", at },
          { cluster: "c2", state: "pending", at },
          { cluster: "c3", state: "failed", reason: "no watcher owns it (not watched right now)", at },
        ],
      });
      expect(requests).toEqual([
        { requestId: res.body.requestId, server: "rs" },
        { requestId: res.body.requestId, server: "rs" },
      ]);
      expect((await h.call("GET", "/api/v1/servers/rs")).body.status.snapshot).toEqual(res.body);
    });

    it("answers 200 with what each watcher recorded: taken with a count, failed with the reason", async () => {
      await h.call("POST", "/api/v1/servers", { name: "done", url: "http://127.0.0.1:9/", snapshot: false });
      watcher(
        "w1",
        () => ["c1"],
        () => ({ state: "taken", objects: 2 }),
      );
      watcher(
        "w2",
        () => ["c2", "c3"],
        (c) =>
          c === "c2"
            ? { state: "failed", reason: "cluster unreachable: connection refused" }
            : { state: "taken", objects: 0 },
      );
      await h.nats.flush();
      const res = await h.call("POST", "/api/v1/servers/done/resync");
      expect(res.status).toBe(200);
      expect(res.body.clusters).toEqual([
        { cluster: "c1", state: "taken", objects: 2, at },
        { cluster: "c2", state: "failed", reason: "cluster unreachable: connection refused", at },
        { cluster: "c3", state: "taken", objects: 0, at },
      ]);
      expect((await h.call("GET", "/api/v1/servers/done")).body.status.snapshot).toEqual(res.body);
    });

    it("only reports clusters the server's filter allows", async () => {
      await h.call("POST", "/api/v1/servers", {
        name: "picky",
        url: "http://127.0.0.1:9/",
        filters: { clusters: ["c1", "c3"] },
        snapshot: false,
      });
      watcher("w1", () => ["c1"]);
      await h.nats.flush();
      const res = await h.call("POST", "/api/v1/servers/picky/resync", {});
      expect(res.body.clusters.map((c: { cluster: string; state: string }) => `${c.cluster} ${c.state}`)).toEqual([
        "c1 pending",
        "c3 failed",
      ]);
    });

    it("answers 200 with every cluster failed when no watcher listens", async () => {
      await h.call("POST", "/api/v1/servers", { name: "alone", url: "http://127.0.0.1:9/", snapshot: false });
      const res = await h.call("POST", "/api/v1/servers/alone/resync");
      expect(res.status).toBe(200);
      expect(res.body.clusters.map((c: { state: string }) => c.state)).toEqual(["failed", "failed", "failed"]);
    });

    it("a later resync replaces the record; the earlier request's late outcomes do not overwrite it", async () => {
      await h.call("POST", "/api/v1/servers", { name: "twice", url: "http://127.0.0.1:9/", snapshot: false });
      watcher("w1", () => ["c1"]);
      await h.nats.flush();
      const first = await h.call("POST", "/api/v1/servers/twice/resync");
      const second = await h.call("POST", "/api/v1/servers/twice/resync");
      const store = new SnapshotStatusStore(h.redis, redisKeys(h.prefix));
      const late = { cluster: "c1", state: "taken" as const, objects: 9, at: new Date().toISOString() };
      expect(await store.record("twice", first.body.requestId, late)).toBe(false);
      const status = (await h.call("GET", "/api/v1/servers/twice")).body.status.snapshot;
      expect(status.requestId).toBe(second.body.requestId);
      expect(status.clusters[0]).toMatchObject({ cluster: "c1", state: "pending" });
    });

    it("answers 404 for an unknown server, and asks no watcher", async () => {
      watcher("w1", () => ["c1"]);
      await h.nats.flush();
      const res = await h.call("POST", "/api/v1/servers/nobody/resync");
      expect(res.status).toBe(404);
      expect(requests).toEqual([]);
    });

    it("refuses a disabled server", async () => {
      await h.call("POST", "/api/v1/servers", { name: "off", url: "http://127.0.0.1:9/", enabled: false });
      const res = await h.call("POST", "/api/v1/servers/off/resync");
      expect(res.status).toBe(409);
      expect(res.body.type).toBe("urn:mcic:problem:server_disabled");
    });

    it("requests a snapshot by itself when a server registers with snapshot true", async () => {
      watcher("w1", () => ["c1"]);
      await h.nats.flush();
      await h.call("POST", "/api/v1/servers", { name: "quiet", url: "http://127.0.0.1:9/", snapshot: false });
      await h.call("POST", "/api/v1/servers", { name: "fresh", url: "http://127.0.0.1:9/" });
      await expect.poll(() => requests.map((r) => r.server)).toEqual(["fresh"]);
      await h.api.settled();
      expect(requests.map((r) => r.server)).toEqual(["fresh"]);
      expect(h.logLines.some((l) => l.includes("snapshot requested for a new server") && l.includes('"fresh"'))).toBe(
        true,
      );
      const status = (await h.call("GET", "/api/v1/servers/fresh")).body.status;
      expect(status.snapshot).toMatchObject({ requestId: requests[0]?.requestId, requestedAt: expect.any(String) });
      expect(
        status.snapshot.clusters.map((c: { cluster: string; state: string }) => `${c.cluster} ${c.state}`),
      ).toEqual(["c1 pending", "c2 failed", "c3 failed"]);
      expect((await h.call("GET", "/api/v1/servers/quiet")).body.status.snapshot).toBeUndefined();
    });
  });
});
