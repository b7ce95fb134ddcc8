import {
  type Backends,
  Registry,
  SecretBox,
  connectBackends,
  createLogger,
  eventsSubjectWildcard,
  redisKeys,
  sealContext,
} from "@mcic/core";
import { type TestServer, startNats, startRedis, waitFor } from "@mcic/core/testing";
import { type Watcher, createWatcher, loadWatcherConfig } from "@mcic/watcher/watcher";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { newSecretKey } from "../support/stack.js";

const ING = "networking.k8s.io/v1/ingresses";
const PREFIX = "fence";
const LEASE_TTL_MS = 30_000;

// A replica publishes only while its lease cannot have expired, judged by its own clock from
// the last renewal it saw answered. Under load that answer can come after the local deadline
// although Redis renewed the lease in time (issue 13: one benchmark run in nine never finished).
// Stepping the watcher's clock past the deadline is the same situation, on demand.
describe("a watcher whose lease renewal comes after its local deadline", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let backends: Backends | undefined;
  let watcher: Watcher | undefined;
  const realNow = Date.now;

  beforeAll(async () => {
    [nats, redis, sim] = await Promise.all([startNats(), startRedis(), KubeSim.start({ tokens: ["t"] })]);
  }, 60_000);
  afterAll(async () => {
    Date.now = realNow;
    await watcher?.stop();
    await backends?.close();
    await sim?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it("keeps watching once the renewal lands: changes made while publishing was fenced and after both reach the stream", async () => {
    const config = loadWatcherConfig({
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      MCIC_PREFIX: PREFIX,
      MCIC_SECRET_KEY: newSecretKey(),
      METRICS_PORT: "0",
      WATCHER_ID: "fenced",
      LEASE_TTL_MS: String(LEASE_TTL_MS),
    });
    const logger = createLogger({ name: "watcher", level: "silent" });
    backends = await connectBackends({
      service: "watcher-lease-fence",
      natsUrl: config.NATS_URL,
      redisUrl: config.REDIS_URL,
      prefix: config.MCIC_PREFIX,
      replicas: config.STREAM_REPLICAS,
      streams: ["events"],
      subscriber: true,
      logger,
    });
    const names: string[] = [];
    backends.nats.subscribe(eventsSubjectWildcard(PREFIX), {
      callback: (err, msg) => {
        if (!err) names.push((msg.json() as { name: string }).name);
      },
    });
    const sc = sim.cluster("c1");
    sc.create(ING, { metadata: { namespace: "shop", name: "before" } });
    const registry = new Registry({ redis: backends.redis, prefix: PREFIX });
    const now = new Date().toISOString();
    await registry.createCluster({
      name: "c1",
      resources: [ING],
      source: "server",
      credentials: new SecretBox(config.MCIC_SECRET_KEY).seal(
        JSON.stringify({ server: sc.url, token: "t" }),
        sealContext.clusterCredentials("c1"),
      ),
      createdAt: now,
      updatedAt: now,
    });
    watcher = createWatcher({ config, logger, backends });
    await watcher.start();
    await waitFor(() => names.includes("before"), { message: "the listed ingress to be published" });

    // Renewals come every 5 s (a third of the TTL, at most 5 s): wait for one to land, so the next
    // is seconds away while the clock is stepped and a change is made.
    const lease = redisKeys(PREFIX).clusterLease("c1");
    const redisConn = backends.redis;
    const renewal = async (what: string) => {
      let last = await redisConn.pttl(lease);
      await waitFor(
        async () => {
          const ttl = await redisConn.pttl(lease);
          const renewed = ttl > last;
          last = ttl;
          return renewed;
        },
        { timeoutMs: 15_000, intervalMs: 20, message: what },
      );
    };
    await renewal("a lease renewal");
    Date.now = () => realNow() + LEASE_TTL_MS + 1_000;
    sc.create(ING, { metadata: { namespace: "shop", name: "during" } });
    const fenced = await waitFor(async () => (await registry.clusterStatus("c1")).find((s) => s.state === "error"), {
      message: "the watch to report that publishing is fenced",
    });
    expect(fenced.message).toMatch(/lease on cluster c1 not confirmed in time/);
    expect(names).not.toContain("during");

    // Redis kept the lease (its own clock never moved): the next renewal succeeds.
    await renewal("the renewal after the clock step");
    expect(await redisConn.get(lease)).toBe("fenced");
    sc.create(ING, { metadata: { namespace: "shop", name: "after" } });
    await waitFor(() => names.includes("during") && names.includes("after"), {
      timeoutMs: 20_000,
      message: "the changes made during and after the lapse to be published",
    });
    await waitFor(async () => (await registry.clusterStatus("c1")).every((s) => s.state === "watching"), {
      message: "the watch to report watching again",
    });
  }, 60_000);
});
