import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { LAST_APPLIED_ANNOTATION, Redis } from "@mcic/core";
import { type Receiver, type TestServer, startNats, startReceiver, startRedis, waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { type Stack, startStack } from "../support/stack.js";
import { selfSignedCert } from "../support/tls.js";

interface DeliveredSecret {
  id: string;
  type: string;
  data: {
    type: string;
    snapshot?: boolean;
    sealedSecretValues?: string;
    object: { data: Record<string, string>; metadata: { annotations: Record<string, string> } };
  };
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

/** The files under `dir` whose bytes contain `needle` (binary-safe: message blocks, AOF). */
function filesContaining(dir: string, needle: string): string[] {
  const bytes = Buffer.from(needle, "utf8");
  return filesUnder(dir).filter((f) => readFileSync(f).indexOf(bytes) >= 0);
}

/** Every key's content as Redis returns it, whatever its type: nothing is left unread. */
async function redisContents(client: Redis): Promise<string> {
  const parts: string[] = [];
  for (const key of await client.keys("*")) {
    const type = await client.type(key);
    const content =
      type === "string"
        ? [await client.get(key)]
        : type === "list"
          ? await client.lrange(key, 0, -1)
          : type === "hash"
            ? Object.entries(await client.hgetall(key)).flat()
            : type === "set"
              ? await client.smembers(key)
              : type === "zset"
                ? await client.zrange(key, 0, -1)
                : undefined;
    if (!content) throw new Error(`key ${key} has type ${type}, which this scan cannot read`);
    parts.push(key, ...content.map((c) => c ?? ""));
  }
  return parts.join("\n");
}

function secretObject(value: string) {
  const data = { password: Buffer.from(value).toString("base64") };
  // What `kubectl apply -f` of a manifest with stringData leaves behind: the value in clear.
  const lastApplied = JSON.stringify({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "db-credentials", namespace: "shop" },
    stringData: { password: value },
  });
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: { namespace: "shop", name: "db-credentials", annotations: { [LAST_APPLIED_ANNOTATION]: lastApplied } },
    data,
  };
}

describe("Secret values: delivered only where asked, sealed at rest", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let stack: Stack;
  let caData: string;

  beforeAll(async () => {
    const tls = selfSignedCert();
    caData = Buffer.from(tls.cert).toString("base64");
    [nats, redis, sim] = await Promise.all([startNats(), startRedis(), KubeSim.start({ tokens: ["t"], tls })]);
    stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await sim?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it("gives the values to the opted-in server only and leaves them nowhere in clear in JetStream or Redis", async () => {
    const first = `first-${randomBytes(12).toString("hex")}`;
    const second = `second-${randomBytes(12).toString("hex")}`;
    const answering = (status: number) => (r: Receiver) => {
      r.respond = () => ({ status });
      return r;
    };
    const [opted, plain, rejected, rejectedOpted, flaky] = await Promise.all([
      startReceiver(),
      startReceiver(),
      startReceiver().then(answering(400)),
      startReceiver().then(answering(400)),
      // Always 503: its deliveries wait in the durable queue (JetStream) between retries.
      startReceiver().then(answering(503)),
    ]);
    const redisClient = new Redis(redis.url);
    try {
      const servers = [
        { name: "opted", url: opted.url, includeSecretData: true },
        { name: "plain", url: plain.url, includeSecretData: false },
        { name: "rejected", url: rejected.url, includeSecretData: false },
        { name: "rejected-opted", url: rejectedOpted.url, includeSecretData: true },
        { name: "flaky", url: flaky.url, includeSecretData: true },
      ];
      for (const s of servers) {
        const res = await stack.api("/api/v1/servers", {
          body: { ...s, snapshot: false, filters: { resources: ["secrets"] } },
        });
        expect(res.status).toBe(201);
      }
      const sc = sim.cluster("vault");
      const registered = await stack.api("/api/v1/clusters", {
        body: { name: "vault", server: sc.url, token: "t", caData, resources: ["secrets"] },
      });
      expect(registered.status).toBe(201);
      await waitFor(
        async () =>
          (await stack.api("/api/v1/clusters/vault")).body.status?.resources?.every(
            (r: { state: string }) => r.state === "watching",
          ),
        { message: "cluster vault watching" },
      );

      sc.create("secrets", secretObject(first));
      await Promise.all([opted.waitForCount(1), plain.waitForCount(1)]);
      sc.update("secrets", secretObject(second));
      await Promise.all([opted.waitForCount(2), plain.waitForCount(2)]);

      const bodies = (r: Receiver) => r.requests.map((q) => JSON.parse(q.body) as DeliveredSecret);
      const [added, modified] = bodies(opted);
      expect(added?.data.object.data).toEqual(secretObject(first).data);
      expect(added?.data.object.metadata.annotations).toEqual(secretObject(first).metadata.annotations);
      expect(modified?.data.type).toBe("MODIFIED");
      expect(modified?.data.object.data).toEqual(secretObject(second).data);
      expect(modified?.data.object.metadata.annotations).toEqual(secretObject(second).metadata.annotations);
      for (const e of bodies(plain)) {
        expect(e.data.object.data).toEqual({ password: "REDACTED" });
        expect(e.data.object.metadata.annotations).toEqual({ [LAST_APPLIED_ANNOTATION]: "REDACTED" });
      }
      for (const q of [...opted.requests, ...plain.requests]) expect(q.body).not.toContain("sealedSecretValues");

      // Snapshots travel through the delivery queue: the opted-in server still gets the values.
      for (const name of ["opted", "flaky"]) {
        expect([200, 202]).toContain((await stack.api(`/api/v1/servers/${name}/resync`, { method: "POST" })).status);
      }
      // The snapshot's object event and its dev.mcic.snapshot.completed event, in either order.
      await opted.waitForCount(4);
      const snapshot = bodies(opted)
        .slice(2)
        .find((e) => e.data.snapshot && e.data.type === "ADDED");
      expect(snapshot?.data.snapshot).toBe(true);
      expect(snapshot?.data.object.data).toEqual(secretObject(second).data);

      // Both events dead-lettered at both rejecting servers; listed REDACTED, without the sealed blob.
      for (const name of ["rejected", "rejected-opted"]) {
        const letters = await waitFor(
          async () => {
            const res = await stack.api(`/api/v1/servers/${name}/dead-letters`);
            return res.body.length === 2 && (res.body as { envelope: DeliveredSecret["data"] }[]);
          },
          { message: `two dead letters at ${name}` },
        );
        for (const l of letters) {
          expect(l.envelope.object.data).toEqual({ password: "REDACTED" });
          expect(l.envelope.object.metadata.annotations).toEqual({ [LAST_APPLIED_ANNOTATION]: "REDACTED" });
          expect(l.envelope).not.toHaveProperty("sealedSecretValues");
        }
      }

      // What a grep of the disks would find. The values in clear (the annotation holds them so)
      // and base64-encoded (as `data` holds them).
      const needles = [first, second].flatMap((v) => [v, Buffer.from(v).toString("base64")]);
      // JetStream writes its blocks asynchronously: wait until the MODIFIED event (events stream)
      // and a retry of the snapshot to "flaky" (deliveries stream, message id `<event id>|<server>|…`)
      // are on disk, so that finding no value means none was written in clear.
      await waitFor(
        () =>
          filesContaining(nats.dataDir, modified?.id ?? "?").length > 0 &&
          filesContaining(nats.dataDir, `${snapshot?.id}|flaky|`).length > 0,
        { timeoutMs: 15_000, message: "the MODIFIED event and a queued snapshot retry in the JetStream store" },
      );
      const aof = filesContaining(redis.dataDir, "rejected-opted");
      expect(aof.length).toBeGreaterThan(0);
      for (const needle of needles) {
        expect(filesContaining(nats.dataDir, needle)).toEqual([]);
        expect(filesContaining(redis.dataDir, needle)).toEqual([]);
      }
      // The append-only files hold every write; the live keys are read one by one as well (an RDB
      // dump would LZF-compress long strings, so grepping it could miss a value).
      const contents = await redisContents(redisClient);
      expect(contents).toContain("sealedSecretValues");
      for (const needle of needles) expect(contents).not.toContain(needle);
    } finally {
      redisClient.disconnect();
      await Promise.all([opted, plain, rejected, rejectedOpted, flaky].map((r) => r.close()));
    }
  });
});
