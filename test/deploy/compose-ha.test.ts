import { beforeAll, describe, expect, it } from "vitest";
import { newSecretKey } from "../support/stack.js";
import { type ComposeService, HA_NODES, commandOf, healthTest, mountsOf, resolveCompose } from "./compose-file.js";
import { REDIS_HA_SCRIPT, argAfter, redisHaRequiredVars } from "./deploy-files.js";
import { CLUSTER_STREAM_REPLICAS, MCIC_SERVICES, SPEC_VARS, parseSentinelUrl } from "./spec-facts.js";

// docker-compose.yml profile "ha", checked on its resolved form: the three NATS nodes really route
// to each other, the Redis nodes and sentinels agree on names, and the mcic services point at all
// of them in the contract's URL forms. compose-ha-run.test.ts runs the same commands on this machine.

const VARS = { API_TOKENS: "token-one", MCIC_SECRET_KEY: newSecretKey() };
const REDIS_GROUP = [...HA_NODES.redis, ...HA_NODES.sentinel];

describe("docker-compose.yml profile ha", () => {
  let services: Record<string, ComposeService>;
  let volumes: Record<string, unknown>;
  const service = (name: string) => {
    const found = services[name];
    if (!found) throw new Error(`no service ${name} in profile ha`);
    return found;
  };
  const env = (name: string) => service(name).environment ?? {};

  beforeAll(() => {
    ({ services, volumes } = resolveCompose("ha", VARS));
  });

  it("puts every service of the HA stack behind the ha profile", () => {
    const ha = [...HA_NODES.nats, ...REDIS_GROUP, ...MCIC_SERVICES.map((s) => `${s}-ha`)];
    for (const name of ha) expect(service(name).profiles, name).toEqual(["ha"]);
    for (const name of ["nats", "redis", ...MCIC_SERVICES]) expect(service(name).profiles, name).toBeUndefined();
  });

  it("runs three NATS 2.9 nodes as one JetStream cluster, each routed to all and on its own volume", () => {
    const clusterNames = new Set<string>();
    const storeVolumes = new Set<string>();
    for (const name of HA_NODES.nats) {
      const svc = service(name);
      expect(svc.image).toBe("nats:2.9-alpine");
      const argv = commandOf(svc);
      expect(argv.slice(0, 2)).toEqual(["nats-server", "-js"]);
      // JetStream's Raft groups know a node by its server name: stable, and unique in the cluster.
      expect(argAfter(argv, "--server_name")).toBe(name);
      clusterNames.add(argAfter(argv, "--cluster_name"));
      const store = mountsOf(svc).find((m) => m.target === argAfter(argv, "-sd"));
      expect(store && store.source in volumes, `${name}: -sd on a named volume`).toBe(true);
      storeVolumes.add(store?.source ?? "");

      const clusterPort = new URL(argAfter(argv, "--cluster")).port;
      expect(argAfter(argv, "--cluster")).toBe(`nats://0.0.0.0:${clusterPort}`);
      expect(argAfter(argv, "--routes").split(",").sort()).toEqual(
        HA_NODES.nats.map((node) => `nats://${node}:${clusterPort}`),
      );
      // Plain /healthz: unhealthy until the node has a JetStream meta leader (the cluster formed).
      expect(healthTest(svc)).toEqual([
        "CMD",
        "wget",
        "-q",
        "-O",
        "/dev/null",
        `http://127.0.0.1:${argAfter(argv, "-m")}/healthz`,
      ]);
      expect(svc.restart).toBe("unless-stopped");
    }
    expect(clusterNames.size).toBe(1);
    expect(storeVolumes.size).toBe(HA_NODES.nats.length);
  });

  it("runs a Redis master, a replica and three sentinels from deploy/redis/redis-ha.sh, unprivileged", () => {
    const dataVolumes = new Set<string>();
    for (const name of REDIS_GROUP) {
      const svc = service(name);
      const isSentinel = name.startsWith("sentinel-");
      expect(svc.image).toBe("redis:7-alpine");
      expect(svc.user).toBe("redis");
      const argv = commandOf(svc);
      expect(argv).toEqual(["sh", argv[1], isSentinel ? "sentinel" : "redis"]);
      expect(mountsOf(svc)).toContainEqual({ source: REDIS_HA_SCRIPT, target: argv[1], readOnly: true });
      // Every node of the group agrees on its name, the first master and the sentinels; each
      // announces the name the others reach it by.
      expect(env(name)).toEqual({ ...env("redis-1"), ANNOUNCE_HOST: name });
      for (const variable of redisHaRequiredVars()) expect(env(name)[variable], `${name}: ${variable}`).toBeTruthy();
      expect(healthTest(svc)).toEqual(
        isSentinel ? ["CMD", "redis-cli", "-p", "26379", "ping"] : ["CMD", "redis-cli", "ping"],
      );
      expect(svc.restart).toBe("unless-stopped");
      if (!isSentinel) {
        const data = mountsOf(svc).find((m) => m.target === "/data");
        expect(data && data.source in volumes, `${name}: /data on a named volume`).toBe(true);
        dataVolumes.add(data?.source ?? "");
      }
    }
    expect(dataVolumes.size).toBe(HA_NODES.redis.length);
    expect(env("redis-1").INITIAL_MASTER).toBe("redis-1:6379");
    expect(env("redis-1").SENTINELS?.split(",")).toEqual(HA_NODES.sentinel.map((s) => `${s}:26379`));
    expect(env("redis-1").MASTER_NAME).toBeTruthy();
  });

  it("configures api-ha, watcher-ha and dispatcher-ha like the others, with the cluster URLs and STREAM_REPLICAS=3", () => {
    for (const name of MCIC_SERVICES) {
      const ha = service(`${name}-ha`);
      const haEnv = ha.environment ?? {};
      for (const key of Object.keys(haEnv)) expect(SPEC_VARS, `${name}-ha: ${key}`).toContain(key);

      // NATS_URL: every node at the client port its command listens on.
      expect(haEnv.NATS_URL?.split(",")).toEqual(
        HA_NODES.nats.map((node) => `nats://${node}:${argAfter(commandOf(service(node)), "-p")}`),
      );
      // REDIS_URL: the contract's Sentinel form, naming the sentinels and the master they watch.
      const sentinelUrl = parseSentinelUrl(haEnv.REDIS_URL ?? "");
      expect(sentinelUrl, haEnv.REDIS_URL ?? "").toEqual({
        sentinels: env("redis-1").SENTINELS?.split(","),
        masterName: env("redis-1").MASTER_NAME,
      });
      expect(haEnv.STREAM_REPLICAS).toBe(String(CLUSTER_STREAM_REPLICAS));
      expect(ha.depends_on).toEqual({
        init: { condition: "service_completed_successfully" },
        ...Object.fromEntries(
          [...HA_NODES.nats, ...HA_NODES.sentinel].map((node) => [node, { condition: "service_healthy" }]),
        ),
      });

      // Otherwise the very service of the single-node stack: image, build, ports, checks, variables.
      const { NATS_URL: _n, REDIS_URL: _r, STREAM_REPLICAS: _s, ...haRest } = haEnv;
      const single = service(name);
      const { NATS_URL: _n1, REDIS_URL: _r1, STREAM_REPLICAS: _s1, ...singleRest } = single.environment ?? {};
      expect(haRest).toEqual(singleRest);
      const { profiles: _p, environment: _e, depends_on: _d, ...haShape } = ha;
      const { environment: _e1, depends_on: _d1, ...singleShape } = single;
      expect(haShape).toEqual(singleShape);
    }
  });
});
