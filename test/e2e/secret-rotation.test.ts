import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Receiver, type TestServer, startNats, startReceiver, startRedis, waitFor } from "@mcic/core/testing";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { type Stack, newSecretKey, startStack } from "../support/stack.js";

const INGRESSES = "networking.k8s.io/v1/ingresses";
const RESEAL = fileURLToPath(new URL("../../services/api/dist/reseal.js", import.meta.url));

type Request = Receiver["requests"][number];

/** What a receiver holding only `secret` makes of a request: the event, or undefined when it does not verify. */
function verifiedBy(secret: string, req: Request | undefined): { data: { name: string } } | undefined {
  try {
    return new Webhook(secret).verify(req?.body ?? "", {
      "webhook-id": String(req?.headers["webhook-id"]),
      "webhook-timestamp": String(req?.headers["webhook-timestamp"]),
      "webhook-signature": String(req?.headers["webhook-signature"]),
    }) as { data: { name: string } };
  } catch {
    return undefined;
  }
}

describe("signing-secret rotation with overlap, and the MCIC_SECRET_KEY re-seal step", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let receiver: Receiver;
  let stack: Stack;
  const oldKey = newSecretKey();

  beforeAll(async () => {
    // No token: kube-sim serves plain http here, and the API refuses a token over http.
    [nats, redis, sim, receiver] = await Promise.all([startNats(), startRedis(), KubeSim.start(), startReceiver()]);
    stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url, tokens: ["api-token"], secretKey: oldKey });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await Promise.all([sim?.stop(), receiver?.close()]);
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  const sc = () => sim.cluster("east");
  let events = 0;
  /** Makes one change in the cluster and returns the request that delivered it. */
  async function deliverOne(): Promise<Request | undefined> {
    const name = `web-${++events}`;
    const before = receiver.requests.length;
    sc().create(INGRESSES, {
      metadata: { namespace: "shop", name },
      spec: { rules: [{ host: `${name}.example.com` }] },
    });
    const req = (await receiver.waitForCount(before + 1))[before];
    expect(JSON.parse(req?.body ?? "{}").data.name).toBe(name);
    return req;
  }
  const dispatcherApplied = () =>
    stack.services.dispatcher.lines.filter((l) => l.includes('"server change applied"')).length;
  /** Rotates and waits until the dispatcher has reloaded the server, so the next delivery uses the new secrets. */
  async function rotate(body: object): Promise<{ secret: string; previousExpiresAt: string }> {
    const applied = dispatcherApplied();
    const res = await stack.api("/api/v1/servers/rx/rotate-secret", { body });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["previousExpiresAt", "secret"]);
    await waitFor(() => dispatcherApplied() > applied, { timeoutMs: 10_000, message: "the dispatcher to reload" });
    return res.body;
  }
  let secrets: string[] = [];

  it("before a rotation, deliveries carry one signature, by the registered secret", async () => {
    const created = await stack.api("/api/v1/servers", {
      body: { name: "rx", url: receiver.url, filters: { clusters: ["east"] }, snapshot: false },
    });
    expect(created.status).toBe(201);
    secrets = [created.body.secret];
    expect((await stack.api("/api/v1/clusters", { body: { name: "east", server: sc().url } })).status).toBe(201);
    await waitFor(
      async () =>
        (await stack.api("/api/v1/clusters/east")).body.status?.resources?.every(
          (r: { state: string }) => r.state === "watching",
        ),
      { timeoutMs: 10_000, message: "cluster east to be watching" },
    );
    const req = await deliverOne();
    expect(String(req?.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(verifiedBy(secrets[0] as string, req)).toBeDefined();
  });

  it("during the grace, a receiver with only the old secret and one with only the new verify the same delivery", async () => {
    const { secret } = await rotate({ graceSeconds: 3600 });
    const [old] = secrets as [string];
    secrets = [secret, old];
    const req = await deliverOne();
    expect(String(req?.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(verifiedBy(old, req)?.data.name).toBe(`web-${events}`);
    expect(verifiedBy(secret, req)?.data.name).toBe(`web-${events}`);
    // The test ping signs the same way.
    const before = receiver.requests.length;
    expect((await stack.api("/api/v1/servers/rx/test", { body: {} })).body).toMatchObject({ ok: true });
    const pinged = (await receiver.waitForCount(before + 1))[before];
    expect(verifiedBy(old, pinged)).toBeDefined();
    expect(verifiedBy(secret, pinged)).toBeDefined();
  });

  it("after the grace, only the new secret verifies", async () => {
    const { secret, previousExpiresAt } = await rotate({ graceSeconds: 1 });
    const [previous, oldest] = secrets as [string, string];
    secrets = [secret];
    await waitFor(() => Date.now() > Date.parse(previousExpiresAt), { timeoutMs: 5000, message: "the grace to end" });
    const req = await deliverOne();
    expect(String(req?.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(verifiedBy(secret, req)).toBeDefined();
    expect(verifiedBy(previous, req)).toBeUndefined();
    expect(verifiedBy(oldest, req)).toBeUndefined();
  });

  it("re-seals everything under a new MCIC_SECRET_KEY; services with only the new key then deliver", async () => {
    await stack.stop();
    const newKey = newSecretKey();
    const reseal = async () => {
      const { stdout } = await promisify(execFile)(process.execPath, [RESEAL], {
        env: {
          PATH: process.env.PATH ?? "",
          REDIS_URL: redis.url,
          MCIC_SECRET_KEY: newKey,
          MCIC_SECRET_KEY_PREVIOUS: oldKey,
        },
      });
      const lines = stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return lines.find((l) => l.msg === "re-seal finished");
    };
    expect(await reseal()).toMatchObject({
      clusters: { resealed: 1, current: 0, failed: 0 },
      servers: { resealed: 1, current: 0, failed: 0 },
    });
    // Idempotent.
    expect(await reseal()).toMatchObject({
      clusters: { resealed: 0, current: 1, failed: 0 },
      servers: { resealed: 0, current: 1, failed: 0 },
    });

    stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url, tokens: ["api-token"], secretKey: newKey });
    await waitFor(
      async () =>
        (await stack.api("/api/v1/clusters/east")).body.status?.resources?.every(
          (r: { state: string }) => r.state === "watching",
        ),
      { timeoutMs: 15_000, message: "cluster east to be watched again" },
    );
    const req = await deliverOne();
    expect(verifiedBy(secrets[0] as string, req)).toBeDefined();
  }, 60_000);
});
