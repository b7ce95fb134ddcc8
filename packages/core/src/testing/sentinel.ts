import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import type { RedisEndpoint } from "../redis-url.js";
import { redisRecipe, type ServerRecipe, startServer, type TestServer } from "./servers.js";
import { waitFor } from "./wait-for.js";

export interface RedisSentinelOptions {
  /** Master name the sentinels monitor (the path of the URL). */
  masterName?: string;
  /** Protects Redis and the sentinels alike; the URL carries it as `:password@`. */
  password?: string;
  /** How long the sentinels wait before they call the master down (default 1000 ms). */
  downAfterMs?: number;
}

/** A master, one replica and three sentinels (quorum 2), each a real process on its own port. */
export interface RedisSentinelSet {
  /** `redis+sentinel://[:password@]127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/<masterName>` */
  readonly url: string;
  readonly masterName: string;
  /** The two redis-server processes, the first started as master. */
  readonly nodes: readonly TestServer[];
  readonly sentinels: readonly TestServer[];
  /** The master every sentinel names; throws while they disagree (wrap it in waitFor). */
  master(): Promise<RedisEndpoint>;
  /** SIGKILLs the process of the current master and returns its address. */
  killMaster(): Promise<RedisEndpoint>;
  /**
   * Starts every killed redis-server again (its data kept) and waits until the sentinels see the
   * pair healthy again: one master, one replica linked to it.
   */
  restart(): Promise<void>;
  /** Kills every process and removes their data. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
/**
 * Sentinel timers for tests: INFO every second instead of 10 (a restarted node is seen in time),
 * hellos every 500 ms (peers found, a returning old master converted, within seconds), and no TILT
 * mode on a loaded machine (a stall of 2 s would freeze failovers for 30 s).
 */
const SPEED_UP = ["info-period", "1000", "publish-period", "500", "tilt-trigger", "10000"];

/** Runs one command against a server on a short-lived connection that never retries. */
async function call(port: number, password: string | undefined, ...args: string[]): Promise<unknown> {
  const client = new Redis({
    host: HOST,
    port,
    password,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
  });
  client.on("error", () => {
    // The rejected command below carries the failure; without a listener ioredis prints it.
  });
  try {
    await client.connect();
    const [command = "", ...rest] = args;
    return await client.call(command, ...rest);
  } finally {
    client.disconnect();
  }
}

/** `SENTINEL MASTER`, `SENTINEL REPLICAS`: flat [k1, v1, k2, v2...] lists into records. */
function record(reply: unknown): Record<string, string> {
  const flat = reply as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

function sentinelRecipe(o: Required<Omit<RedisSentinelOptions, "password">>, master: number, password?: string) {
  const recipe: ServerRecipe = {
    binary: "redis-sentinel",
    args: (_port, dir) => [join(dir, "sentinel.conf")],
    // Sentinel rewrites its file as it learns the topology: written only at first start.
    prepare: (port, dir) => {
      const name = o.masterName;
      const lines = [
        `port ${port}`,
        `bind ${HOST}`,
        `dir ${dir}`,
        `sentinel monitor ${name} ${HOST} ${master} 2`,
        `sentinel down-after-milliseconds ${name} ${o.downAfterMs}`,
        // Also the wait before a failed election is tried again (twice this): keep it short.
        `sentinel failover-timeout ${name} 3000`,
        `sentinel parallel-syncs ${name} 1`,
        ...(password ? [`sentinel auth-pass ${name} ${password}`, `requirepass ${password}`] : []),
      ];
      writeFileSync(join(dir, "sentinel.conf"), `${lines.join("\n")}\n`);
    },
    ready: /\+monitor master/,
    url: (port) => `redis://${HOST}:${port}`,
  };
  return recipe;
}

/**
 * Starts a master, a replica (`--replicaof`) and three `redis-sentinel` processes on random ports
 * and waits until every sentinel names the master, sees the replica and knows the other two.
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelSet> {
  const o = { masterName: "mcic-test", downAfterMs: 1000, ...options };
  const { password } = o;
  const authArgs = password ? ["--requirepass", password, "--masterauth", password] : [];
  // A master waits 5 s for more replicas before a full sync by default: one is all there is.
  const nodeArgs = [...authArgs, "--repl-diskless-sync-delay", "0"];
  const started: TestServer[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    const first = await startServer(redisRecipe(nodeArgs));
    started.push(first);
    const second = await startServer(redisRecipe([...nodeArgs, "--replicaof", HOST, String(first.port)]));
    started.push(second);
    const nodes = [first, second];
    const sentinels: TestServer[] = [];
    for (let i = 0; i < 3; i++) {
      const sentinel = await startServer(sentinelRecipe(o, first.port, password));
      started.push(sentinel);
      await call(sentinel.port, password, "SENTINEL", "DEBUG", ...SPEED_UP);
      sentinels.push(sentinel);
    }
    const killed = new Set<TestServer>();

    const master = async (): Promise<RedisEndpoint> => {
      const answers = await Promise.all(
        sentinels.map(
          async (s) => (await call(s.port, password, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", o.masterName)) as string[],
        ),
      );
      const named = new Set(answers.map((a) => a.join(":")));
      if (named.size !== 1) throw new Error(`sentinels disagree on the master: ${[...named].join(", ")}`);
      const [host = "", port = "0"] = answers[0] ?? [];
      return { host, port: Number(port) };
    };

    /** True once every sentinel names one live master with one linked replica and two peers. */
    const healthy = async (): Promise<boolean> => {
      const current = await master();
      for (const s of sentinels) {
        const m = record(await call(s.port, password, "SENTINEL", "MASTER", o.masterName));
        const replicas = ((await call(s.port, password, "SENTINEL", "REPLICAS", o.masterName)) as unknown[]).map(
          record,
        );
        const linked = replicas.filter((r) => r.flags === "slave" && r["master-link-status"] === "ok");
        if (m.flags !== "master" || m["num-other-sentinels"] !== "2" || linked.length !== 1) {
          throw new Error(
            `sentinel ${s.port} sees master ${current.port} ${m.flags}, ${m["num-other-sentinels"]} peers, ` +
              `replicas ${replicas.map((r) => `${r.port} ${r.flags} ${r["master-link-status"]}`).join("; ")}`,
          );
        }
      }
      return true;
    };
    const settled = () => waitFor(healthy, { timeoutMs: 30_000, intervalMs: 200, message: "the sentinels to agree" });
    await settled();

    const userinfo = password ? `:${encodeURIComponent(password)}@` : "";
    return {
      url: `redis+sentinel://${userinfo}${sentinels.map((s) => `${HOST}:${s.port}`).join(",")}/${o.masterName}`,
      masterName: o.masterName,
      nodes,
      sentinels,
      master,
      killMaster: async () => {
        const current = await master();
        const node = nodes.find((n) => n.port === current.port);
        if (!node) throw new Error(`the sentinels name ${current.host}:${current.port}, not one of this set`);
        await node.kill("SIGKILL");
        killed.add(node);
        return current;
      },
      restart: async () => {
        for (const node of killed) await node.restart();
        killed.clear();
        await settled();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
