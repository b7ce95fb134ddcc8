import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateWebhookSecret } from "@mcic/core";
import { type TestServer, startNats, startRedis, waitFor } from "@mcic/core/testing";
import { createReceiver, fileStore, type Receiver } from "@mcic/receiver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim, type SimCluster } from "../kube-sim/index.js";
import { type ServiceProcess, type Stack, startService, startStack } from "../support/stack.js";

const ING = "networking.k8s.io/v1/ingresses";
const CLUSTERS = ["east", "west"] as const;

/** A receiver process's life: the library on a node:http server, on a fixed port across restarts. */
async function startLibraryReceiver(secret: string, dir: string, port = 0) {
  const receiver = createReceiver({ secrets: [secret], store: fileStore(dir), sweepAfterMs: 30_000 });
  const server = createServer(receiver.handler);
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  await receiver.ready;
  return {
    receiver,
    server,
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      await new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
      await receiver.close();
    },
  };
}

/** Every ingress of both clusters as the library keys them, with its resourceVersion. */
function clusterState(sim: KubeSim): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CLUSTERS) {
    for (const o of sim.cluster(name).list(ING)) {
      out[`${name}/networking.k8s.io/ingresses/${o.metadata.namespace}/${o.metadata.name}`] = String(
        o.metadata.resourceVersion,
      );
    }
  }
  return out;
}

function receiverState(receiver: Receiver): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, o] of receiver.state)
    out[key] = String((o.metadata as { resourceVersion?: string }).resourceVersion);
  return out;
}

/** Creates, updates and deletes ingresses, in a fixed pseudo-random order. */
function churn(c: SimCluster, seed: number, steps: number): void {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x;
  };
  for (let i = 0; i < steps; i++) {
    const existing = c.list(ING);
    const op = next() % 3;
    const victim = existing[next() % Math.max(existing.length, 1)];
    if (op === 0 || !victim) {
      const name = `ing-${seed}-${i}`;
      c.create(ING, { metadata: { namespace: "shop", name }, spec: { rules: [{ host: `${name}.example.com` }] } });
    } else if (op === 1) {
      c.update(ING, { ...victim, metadata: { ...victim.metadata, annotations: { step: String(i) } } });
    } else c.delete(ING, victim.metadata.namespace, victim.metadata.name);
  }
}

describe("@mcic/receiver end to end: churn, a killed dispatcher, a restarted receiver, a resync", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let stack: Stack;
  let dispatcher: ServiceProcess | undefined;
  let dir: string;
  let current: Awaited<ReturnType<typeof startLibraryReceiver>> | undefined;

  beforeAll(async () => {
    [nats, redis, sim] = await Promise.all([startNats(), startRedis(), KubeSim.start()]);
    // Quick retries, few attempts: events sent while the receiver is down become dead letters, so
    // the receiver really misses them and only the resync can repair its state.
    stack = await startStack({
      natsUrl: nats.url,
      redisUrl: redis.url,
      env: { DISPATCH_RETRY_SCHEDULE: "200ms,400ms", DISPATCH_TIMEOUT_MS: "2000" },
    });
    dir = await mkdtemp(join(tmpdir(), "mcic-receiver-e2e-"));
  }, 60_000);
  afterAll(async () => {
    await current?.stop();
    await dispatcher?.kill("SIGTERM");
    await stack?.stop();
    await sim?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("ends with the library's state equal to both clusters' current objects", async () => {
    for (const [i, name] of CLUSTERS.entries()) churn(sim.cluster(name), 100 + i, 6);
    for (const name of CLUSTERS) {
      expect((await stack.api("/api/v1/clusters", { body: { name, server: sim.cluster(name).url } })).status).toBe(201);
    }
    const secret = generateWebhookSecret();
    current = await startLibraryReceiver(secret, join(dir, "store"));
    const port = current.port;
    const reg = await stack.api("/api/v1/servers", {
      body: { name: "state", url: `http://127.0.0.1:${port}/events`, secret, retry: { maxAttempts: 3 } },
    });
    expect(reg.status).toBe(201);
    const converged = (message: string) =>
      waitFor(
        () => {
          const want = clusterState(sim);
          const got = receiverState(current?.receiver as Receiver);
          return (
            JSON.stringify(Object.entries(want).sort()) === JSON.stringify(Object.entries(got).sort()) || undefined
          );
        },
        { timeoutMs: 30_000, message },
      ).catch(() => {
        expect(receiverState(current?.receiver as Receiver), message).toEqual(clusterState(sim));
      });
    await converged("the registration snapshot and live events");

    // Churn while the dispatcher is killed -9, then restarted: nothing is lost.
    for (const [i, name] of CLUSTERS.entries()) churn(sim.cluster(name), 200 + i, 5);
    await stack.services.dispatcher.kill("SIGKILL");
    for (const [i, name] of CLUSTERS.entries()) churn(sim.cluster(name), 300 + i, 5);
    dispatcher = startService("dispatcher", stack.env);
    await dispatcher.waitForLog("ready");
    await converged("churn across a dispatcher killed -9");

    // The receiver goes away; what changes meanwhile is dead-lettered, so it comes back stale.
    await current.stop();
    const before = clusterState(sim);
    for (const [i, name] of CLUSTERS.entries()) churn(sim.cluster(name), 400 + i, 6);
    const victim = sim.cluster("east").list(ING)[0];
    if (victim) sim.cluster("east").delete(ING, victim.metadata.namespace, victim.metadata.name);
    await waitFor(
      async () => {
        const { status } = (await stack.api("/api/v1/servers/state")).body;
        return (status.deadLetters ?? 0) > 0 && status.pending === 0;
      },
      { timeoutMs: 20_000, message: "changes made while the receiver was down to be dead-lettered" },
    );
    current = await startLibraryReceiver(secret, join(dir, "store"), port);
    expect(receiverState(current.receiver)).toEqual(before); // what the file store kept
    expect(receiverState(current.receiver)).not.toEqual(clusterState(sim));

    // A resync: its objects plus one completed event per cluster repair the state, deletes included.
    const resync = await stack.api("/api/v1/servers/state/resync", { method: "POST" });
    expect([200, 202]).toContain(resync.status);
    await converged("the resync");
    // Not only the versions: the objects themselves are the clusters' current ones.
    const objects = Object.fromEntries(
      CLUSTERS.flatMap((name) =>
        sim
          .cluster(name)
          .list(ING)
          .map((o) => [`${name}/networking.k8s.io/ingresses/${o.metadata.namespace}/${o.metadata.name}`, o]),
      ),
    );
    expect(Object.fromEntries(current.receiver.state)).toEqual(JSON.parse(JSON.stringify(objects)));
    if (victim) {
      expect(
        current.receiver.state.has(
          `east/networking.k8s.io/ingresses/${victim.metadata.namespace}/${victim.metadata.name}`,
        ),
      ).toBe(false);
    }
  });
});
