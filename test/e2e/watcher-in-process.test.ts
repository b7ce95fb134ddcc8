import {
  type Backends,
  type Envelope,
  EnvelopeSchema,
  Registry,
  SecretBox,
  connectBackends,
  createLogger,
  eventsSubjectWildcard,
  redisKeys,
  sealContext,
} from "@mcic/core";
import { type TestServer, startNats, startRedis, waitFor } from "@mcic/core/testing";
import { createWatcher, loadWatcherConfig } from "@mcic/watcher/watcher";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { newSecretKey } from "../support/stack.js";

const ING = "networking.k8s.io/v1/ingresses";
const PREFIX = "inproc";

describe("a watcher started in-process with createWatcher", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let backends: Backends;

  beforeAll(async () => {
    [nats, redis, sim] = await Promise.all([startNats(), startRedis(), KubeSim.start({ tokens: ["t"] })]);
  }, 60_000);
  afterAll(async () => {
    await backends?.close();
    await sim?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it("publishes the cluster's changes to JetStream, then stops, saving its resume point and giving up its lease", async () => {
    const config = loadWatcherConfig({
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      MCIC_PREFIX: PREFIX,
      MCIC_SECRET_KEY: newSecretKey(),
      METRICS_PORT: "0",
      WATCHER_ID: "in-process",
      LEASE_TTL_MS: "3000",
    });
    const logger = createLogger({ name: "watcher", level: "silent" });
    backends = await connectBackends({
      service: "watcher-in-process",
      natsUrl: config.NATS_URL,
      redisUrl: config.REDIS_URL,
      prefix: config.MCIC_PREFIX,
      replicas: config.STREAM_REPLICAS,
      streams: ["events"],
      subscriber: true,
      logger,
    });
    const published: Envelope[] = [];
    backends.nats.subscribe(eventsSubjectWildcard(PREFIX), {
      callback: (err, msg) => {
        if (!err) published.push(EnvelopeSchema.parse(msg.json()));
      },
    });

    const sc = sim.cluster("c1");
    sc.create(ING, { metadata: { namespace: "shop", name: "listed" } });
    const now = new Date().toISOString();
    await new Registry({ redis: backends.redis, prefix: PREFIX }).createCluster({
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

    const watcher = createWatcher({ config, logger, backends });
    await watcher.start();
    const health = await fetch(`http://127.0.0.1:${watcher.opsPort}/healthz`);
    expect(health.status).toBe(200);

    const seen = (name: string) => published.find((e) => e.cluster === "c1" && e.name === name);
    // Listed at the first sync, then seen on the watch stream.
    expect(await waitFor(() => seen("listed"), { message: "the listed ingress to be published" })).toMatchObject({
      type: "ADDED",
      namespace: "shop",
      resource: "ingresses",
    });
    sc.create(ING, { metadata: { namespace: "shop", name: "watched" } });
    expect(await waitFor(() => seen("watched"), { message: "the watched ingress to be published" })).toMatchObject({
      type: "ADDED",
      kind: "Ingress",
    });
    expect(watcher.clusters).toEqual(["c1"]);

    await watcher.stop();
    const keys = redisKeys(PREFIX);
    expect(watcher.clusters).toEqual([]);
    expect(await backends.redis.get(keys.clusterLease("c1"))).toBeNull();
    expect(await backends.redis.hget(keys.clusterResume("c1"), ING)).toBeTruthy();
    await expect(fetch(`http://127.0.0.1:${watcher.opsPort}/healthz`)).rejects.toThrow();
  });
});
