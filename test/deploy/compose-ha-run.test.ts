import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis, connectNats, deliveriesStreamName, eventsStreamName } from "@mcic/core";
import { type TestServer, startRedis, waitFor } from "@mcic/core/testing";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventPublisher, ingressEnvelope } from "../support/events.js";
import { type ServiceProcess, newSecretKey, startService } from "../support/stack.js";
import { type ComposeService, HA_NODES, commandOf, mountsOf, resolveCompose } from "./compose-file.js";
import { argAfter } from "./deploy-files.js";
import { LocalAddresses } from "./local-addresses.js";
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
  let plainRedis: TestServer | undefined;

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

  afterAll(async () => {
    await Promise.all(started.map((s) => s.kill("SIGKILL")));
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await local.stopAll();
    await plainRedis?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
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

    // One node alone answers its health check, unhealthy: compose starts nothing on it yet.
    const [first, ...others] = HA_NODES.nats;
    startNode(first);
    const alone = await waitFor(() => health(first).catch(() => undefined), { message: `${first} to answer` });
    expect(alone.status).toBe(503);
    expect(await alone.text()).toMatch(/meta leader/);

    for (const node of others) startNode(node);
    for (const node of HA_NODES.nats) {
      await waitFor(async () => (await health(node)).status === 200, {
        timeoutMs: 20_000,
        message: `${node} healthy (${nodes.get(node)?.output.text.slice(-500)})`,
      });
    }

    // The watcher with watcher-ha's variables creates mcic's streams on three nodes. REDIS_URL is
    // a plain Redis here: the redis+sentinel:// form is the other test's.
    plainRedis = await startRedis();
    const haEnv = Object.fromEntries(
      Object.entries(service("watcher-ha").environment ?? {}).filter((e): e is [string, string] => e[1] !== null),
    );
    const prefix = "composeha";
    const natsUrl = addrs.rewrite(haEnv.NATS_URL ?? "");
    const watcher = startService("watcher", {
      ...haEnv,
      NATS_URL: natsUrl,
      REDIS_URL: plainRedis.url,
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
    // "localhost", not an address: Sentinel resolves and announces names as it does in containers.
    const addrs = new LocalAddresses("localhost");
    const group = [...HA_NODES.redis, ...HA_NODES.sentinel];
    const envOf = (name: string) => service(name).environment ?? {};
    const redisPort = (envOf("redis-1").INITIAL_MASTER ?? "").split(":")[1] as string;
    const sentinelPort = (envOf("redis-1").SENTINELS ?? "").split(",")[0]?.split(":")[1] as string;
    const isSentinel = (name: string) => (HA_NODES.sentinel as readonly string[]).includes(name);
    for (const name of group) await addrs.add(name, isSentinel(name) ? sentinelPort : redisPort);
    const portOf = (name: string) => addrs.port(name, isSentinel(name) ? sentinelPort : redisPort);
    const masterName = envOf("redis-1").MASTER_NAME as string;

    const processes = new Map<string, LocalProcess>();
    const start = (name: string, cwd: string) => {
      const svc = service(name);
      const mounts = mountsOf(svc);
      const argv = commandOf(svc).map((arg) => mounts.find((m) => m.target === arg)?.source ?? arg);
      const env: Record<string, string> = { [isSentinel(name) ? "SENTINEL_PORT" : "REDIS_PORT"]: String(portOf(name)) };
      for (const [key, value] of Object.entries(envOf(name))) {
        if (value !== null) env[key] = key === "ANNOUNCE_HOST" ? "localhost" : addrs.rewrite(value);
      }
      const proc = local.run([...argv, "--bind", "127.0.0.1"], { env, cwd });
      processes.set(name, proc);
      return proc;
    };
    const ask = async (name: string, ...command: string[]) => {
      const client = new Redis({ port: portOf(name), host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null });
      // A refused connection rejects connect() below; without a listener ioredis would also print it.
      client.on("error", () => undefined);
      try {
        await client.connect();
        return await client.call(command[0] as string, ...command.slice(1));
      } finally {
        client.disconnect();
      }
    };
    const masterOf = async (sentinel: string) =>
      ((await ask(sentinel, "SENTINEL", "get-master-addr-by-name", masterName)) as string[]).join(":");
    const says = (proc: LocalProcess | undefined, line: string) =>
      waitFor(() => proc?.output.text.includes(line), { message: `"${line}" in:\n${proc?.output.text}` });

    const [first, second] = HA_NODES.redis;
    const dataDirs = new Map(group.map((name) => [name, tempDir(name)]));
    await says(start(first, dataDirs.get(first) as string), "redis-ha: starting as the master");
    await says(start(second, dataDirs.get(second) as string), `starting as a replica of localhost:${portOf(first)}`);
    await waitFor(async () => String(await ask(first, "INFO", "replication")).includes("connected_slaves:1"), {
      message: `${second} replicating ${first}`,
    });
    for (const name of HA_NODES.sentinel) start(name, dataDirs.get(name) as string);
    for (const name of HA_NODES.sentinel) {
      await waitFor(
        async () =>
          (await masterOf(name)) === `localhost:${portOf(first)}` &&
          ((await ask(name, "SENTINEL", "replicas", masterName)) as unknown[]).length === 1 &&
          ((await ask(name, "SENTINEL", "sentinels", masterName)) as unknown[]).length === 2,
        { timeoutMs: 20_000, message: `${name} to know the master, the replica and the other sentinels` },
      );
    }
    expect(await ask("sentinel-1", "SENTINEL", "ckquorum", masterName)).toMatch(/^OK/);
    // Each sentinel rewrote its own copy of the config in its data directory.
    expect(readFileSync(join(dataDirs.get("sentinel-1") as string, "sentinel.conf"), "utf8")).toMatch(
      /sentinel known-sentinel/,
    );

    await ask(first, "SET", "ha-check", "written before the failover");
    expect(await ask(first, "WAIT", "1", "5000")).toBe(1);
    await processes.get(first)?.kill();
    for (const name of HA_NODES.sentinel) {
      await waitFor(async () => (await masterOf(name)) === `localhost:${portOf(second)}`, {
        timeoutMs: 30_000,
        intervalMs: 250,
        message: `${name} to fail over to ${second}`,
      });
    }
    expect(await ask(second, "GET", "ha-check")).toBe("written before the failover");

    // The old master, started by the same command, asks the sentinels and follows the new master.
    await says(start(first, dataDirs.get(first) as string), `starting as a replica of localhost:${portOf(second)}`);
    await waitFor(async () => String(await ask(first, "INFO", "replication")).includes("master_link_status:up"), {
      timeoutMs: 15_000,
      message: `${first} replicating ${second}`,
    });
    expect(await ask(first, "GET", "ha-check")).toBe("written before the failover");

    // A sentinel that lost its config (a new container) watches the current master, not the first.
    await processes.get("sentinel-3")?.kill();
    start("sentinel-3", tempDir("sentinel-3"));
    await waitFor(async () => (await masterOf("sentinel-3")) === `localhost:${portOf(second)}`, {
      message: "a fresh sentinel-3 to watch the current master",
    });
  }, 120_000);
});
