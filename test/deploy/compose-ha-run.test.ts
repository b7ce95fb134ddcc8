import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectNats, deliveriesStreamName, eventsStreamName } from "@mcic/core";
import { waitFor } from "@mcic/core/testing";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { EventPublisher, ingressEnvelope } from "../support/events.js";
import { type ServiceProcess, newSecretKey, startService } from "../support/stack.js";
import { type ComposeService, HA_NODES, commandOf, resolveCompose } from "./compose-file.js";
import { argAfter } from "./deploy-files.js";
import { LocalAddresses } from "./local-addresses.js";
import { LocalRedisGroup } from "./local-redis-group.js";
import { type LocalProcess, LocalProcesses } from "./local-processes.js";
import { requireBinary } from "./require-binary.js";
import { CLUSTER_STREAM_REPLICAS } from "./spec-facts.js";

// docker-compose.yml profile "ha" without Docker: the nats-server command lines and
// deploy/redis/redis-ha.sh with the services' variables, run here as they would run in their
// containers. Only addresses change: every container's host:port becomes a loopback port, and
// `--bind`/`-a` keep the servers on loopback.

const VARS = { API_TOKENS: "token-one", MCIC_SECRET_KEY: newSecretKey() };

describe("docker-compose.yml profile ha, its commands run on this machine", () => {
  let services: Record<string, ComposeService>;
  const local = new LocalProcesses();
  const dirs: string[] = [];
  const started: ServiceProcess[] = [];
  const clients: { close(): Promise<unknown> }[] = [];

  const service = (name: string) => {
    const found = services[name];
    if (!found) throw new Error(`no service ${name} in profile ha`);
    return found;
  };
  const tempDir = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), `mcic-ha-${name}-`));
    dirs.push(dir);
    return dir;
  };

  beforeAll(() => {
    requireBinary("nats-server", "apt-get install nats-server");
    requireBinary("redis-sentinel", "apt-get install redis-sentinel");
    services = resolveCompose("ha", VARS).services;
  });

  // After each test, so one test's servers neither load the next nor hold ports it expects free.
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.kill("SIGKILL")));
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await local.stopAll();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("the three nats-server command lines form a cluster that keeps 3-replica streams through a lost node", async () => {
    const addrs = new LocalAddresses();
    const argvOf = (node: string) => commandOf(service(node));
    for (const node of HA_NODES.nats) {
      const argv = argvOf(node);
      await addrs.add(node, argAfter(argv, "-p"));
      await addrs.add(node, argAfter(argv, "-m"));
      await addrs.add(node, new URL(argAfter(argv, "--cluster")).port);
    }
    const health = (node: string) =>
      fetch(`http://127.0.0.1:${addrs.port(node, argAfter(argvOf(node), "-m"))}/healthz`);
    const nodes = new Map<string, LocalProcess>();
    const startNode = (node: string) => {
      const argv = argvOf(node);
      const localArgv = argv.map((arg, i) => {
        const flag = argv[i - 1];
        if (flag === "-sd") return tempDir(node);
        if (flag === "-p" || flag === "-m") return String(addrs.port(node, arg));
        if (flag === "--cluster") return `nats://127.0.0.1:${addrs.port(node, new URL(arg).port)}`;
        return addrs.rewrite(arg);
      });
      nodes.set(node, local.run([...localArgv, "-a", "127.0.0.1"], { env: {}, cwd: tempDir(node) }));
    };

    // Alone, a node is unhealthy (no JetStream meta leader): compose starts nothing on it yet.
    // (nats-server 2.9 may answer 200 for an instant at start, before its cluster state exists;
    // compose's first check comes 5 s later.)
    const [first, ...others] = HA_NODES.nats;
    startNode(first);
    await waitFor(
      async () => {
        const res = await health(first);
        const body = await res.text();
        if (res.status === 503 && /meta leader/.test(body)) return true;
        throw new Error(`${res.status} ${body}`);
      },
      { message: `${first} alone to be unhealthy` },
    );

    for (const node of others) startNode(node);
    for (const node of HA_NODES.nats) {
      await waitFor(async () => (await health(node)).status === 200, {
        timeoutMs: 20_000,
        message: `${node} healthy (${nodes.get(node)?.output.text.slice(-500)})`,
      });
    }

    // The watcher with watcher-ha's variables (addresses made local) on this cluster and on the
    // Redis group of the profile, through the sentinels.
    const redis = await LocalRedisGroup.create(services, local, tempDir);
    await redis.startAll();
    const haEnv = Object.fromEntries(
      Object.entries(service("watcher-ha").environment ?? {}).filter((e): e is [string, string] => e[1] !== null),
    );
    const prefix = "composeha";
    const natsUrl = addrs.rewrite(haEnv.NATS_URL ?? "");
    const watcher = startService("watcher", {
      ...haEnv,
      NATS_URL: natsUrl,
      REDIS_URL: redis.localize(haEnv.REDIS_URL ?? ""),
      MCIC_PREFIX: prefix,
      METRICS_PORT: "0",
    });
    started.push(watcher);
    const { metricsPort } = await watcher.waitForLog("ready", 30_000);

    const nc: NatsConnection = await connectNats(natsUrl, "compose-ha-test");
    clients.push(nc);
    const jsm: JetStreamManager = await jetstreamManager(nc);
    for (const stream of [eventsStreamName(prefix), deliveriesStreamName(prefix)]) {
      const info = await waitFor(
        async () => {
          const i = await jsm.streams.info(stream);
          return i.cluster?.replicas?.length === 2 && i.cluster.replicas.every((r) => r.current) && i;
        },
        { timeoutMs: 15_000, message: `${stream} on three current nodes` },
      );
      expect(info.config.num_replicas).toBe(CLUSTER_STREAM_REPLICAS);
    }

    // Lose the node leading the events stream: another takes over, events are still stored, and
    // the watcher stays ready.
    const leader = (await jsm.streams.info(eventsStreamName(prefix))).cluster?.leader ?? "";
    expect(HA_NODES.nats).toContain(leader);
    await nodes.get(leader)?.kill();
    const survivor = HA_NODES.nats.find((n) => n !== leader) as string;
    const publisher = await EventPublisher.connect(
      `nats://127.0.0.1:${addrs.port(survivor, argAfter(argvOf(survivor), "-p"))}`,
      prefix,
    );
    clients.push(publisher);
    await waitFor(
      async () => {
        await publisher.publish([ingressEnvelope("ha", "web", 1)]);
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 500, message: "a publish after losing the stream leader" },
    );
    const after = await jsm.streams.info(eventsStreamName(prefix));
    expect(after.state.messages).toBe(1);
    expect([after.cluster?.leader]).not.toContain(leader);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200, {
      timeoutMs: 15_000,
      message: "the watcher ready after losing a NATS node",
    });
  }, 90_000);

  it("redis-ha.sh: sentinels find the master, fail over to the replica, and the old master returns as a replica", async () => {
    const group = await LocalRedisGroup.create(services, local, tempDir);
    const [first, second] = HA_NODES.redis;
    const { masterName } = group;
    await group.startAll();
    for (const name of HA_NODES.sentinel) {
      await waitFor(
        async () =>
          ((await group.ask(name, "SENTINEL", "replicas", masterName)) as unknown[]).length === 1 &&
          ((await group.ask(name, "SENTINEL", "sentinels", masterName)) as unknown[]).length === 2,
        { timeoutMs: 20_000, message: `${name} to know the replica and the other sentinels` },
      );
    }
    expect(await group.ask("sentinel-1", "SENTINEL", "ckquorum", masterName)).toMatch(/^OK/);
    // Each sentinel rewrote its own copy of the config in its data directory.
    expect(readFileSync(join(group.dataDir("sentinel-1"), "sentinel.conf"), "utf8")).toMatch(/sentinel known-sentinel/);

    await group.ask(first, "SET", "ha-check", "written before the failover");
    expect(await group.ask(first, "WAIT", "1", "5000")).toBe(1);
    await group.kill(first);
    // Down after 5 s, then the vote; a split vote is retried 20 s later (failover-timeout 10 s).
    for (const name of HA_NODES.sentinel) {
      await waitFor(async () => (await group.masterOf(name)) === `localhost:${group.portOf(second)}`, {
        timeoutMs: 45_000,
        intervalMs: 250,
        message: `${name} to fail over to ${second}:\n${HA_NODES.sentinel.map((s) => group.tail(s)).join("\n")}`,
      });
    }
    expect(await group.ask(second, "GET", "ha-check")).toBe("written before the failover");

    // The old master, started by the same command, asks the sentinels and follows the new master.
    group.start(first);
    await group.says(first, `starting as a replica of localhost:${group.portOf(second)}`);
    await waitFor(async () => String(await group.ask(first, "INFO", "replication")).includes("master_link_status:up"), {
      timeoutMs: 15_000,
      message: `${first} replicating ${second}`,
    });
    expect(await group.ask(first, "GET", "ha-check")).toBe("written before the failover");

    // A sentinel that lost its config (a new container) watches the current master, not the first.
    await group.kill("sentinel-3");
    group.start("sentinel-3", tempDir("sentinel-3"));
    await waitFor(async () => (await group.masterOf("sentinel-3")) === `localhost:${group.portOf(second)}`, {
      message: "a fresh sentinel-3 to watch the current master",
    });
  }, 120_000);
});
