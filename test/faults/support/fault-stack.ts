import { freePort, startNats, startRedis, waitFor } from "@mcic/core/testing";
import { KubeSim, type SimCluster } from "../../kube-sim/index.js";
import { type ServiceName, type ServiceProcess, type Stack, startService, startStack } from "../../support/stack.js";
import { DownableReceiver } from "./downable-receiver.js";

/** Where NATS and Redis run for a scenario: one process each, a NATS cluster, or Redis with Sentinel. */
export interface Backends {
  natsUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

export async function singleBackends(): Promise<Backends> {
  const [nats, redis] = await Promise.all([startNats(), startRedis()]);
  return {
    natsUrl: nats.url,
    redisUrl: redis.url,
    stop: async () => {
      await Promise.all([nats.stop(), redis.stop()]);
    },
  };
}

export interface FaultStackOptions {
  backends: Backends;
  /** Receivers registered as servers of the cluster (default lb-a and lb-b). */
  servers?: string[];
  env?: Record<string, string>;
}

/** Settings that make recovery quick enough to test, the same in every scenario. */
const FAULT_ENV: Record<string, string> = {
  LEASE_TTL_MS: "3000",
  DISPATCH_TIMEOUT_MS: "1000",
  DISPATCH_RETRY_SCHEDULE: "500ms,1s,2s,2s,2s,2s,2s,2s,2s,2s",
};

/**
 * The whole stack as processes (api, watcher, dispatcher), a kube-sim cluster registered with it,
 * and receivers registered as servers of that cluster. Services can be killed and started again.
 */
export class FaultStack {
  readonly sim: KubeSim;
  readonly cluster: SimCluster;
  readonly stack: Stack;
  readonly receivers: DownableReceiver[];
  readonly #backends: Backends;
  readonly #current: Record<ServiceName, ServiceProcess>;
  readonly #started: ServiceProcess[] = [];

  private constructor(backends: Backends, sim: KubeSim, stack: Stack, receivers: DownableReceiver[]) {
    this.#backends = backends;
    this.sim = sim;
    this.cluster = sim.cluster("prod");
    this.stack = stack;
    this.receivers = receivers;
    this.#current = { ...stack.services };
  }

  static async start(options: FaultStackOptions): Promise<FaultStack> {
    const sim = await KubeSim.start({ bookmarkIntervalMs: 500 });
    const receivers = await Promise.all((options.servers ?? ["lb-a", "lb-b"]).map((n) => DownableReceiver.start(n)));
    let fs: FaultStack | undefined;
    try {
      // A fixed API port: an api started again after a kill answers where the first one did.
      const apiPort = String(await freePort());
      const stack = await startStack({
        natsUrl: options.backends.natsUrl,
        redisUrl: options.backends.redisUrl,
        env: { ...FAULT_ENV, API_PORT: apiPort, ...options.env },
      });
      fs = new FaultStack(options.backends, sim, stack, receivers);
      await fs.#register();
      return fs;
    } catch (err) {
      // The caller gets no handle to stop: stop everything started so far here.
      if (fs) await fs.stop();
      else {
        await Promise.all(receivers.map((r) => r.close()));
        await sim.stop();
        await options.backends.stop();
      }
      throw err;
    }
  }

  async #register(): Promise<void> {
    for (const r of this.receivers) {
      const res = await this.stack.api("/api/v1/servers", {
        body: { name: r.name, url: r.url, filters: { clusters: ["prod"] } },
      });
      if (res.status !== 201) throw new Error(`registering ${r.name}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    await Promise.all(
      this.receivers.map((r) =>
        this.#current.dispatcher.waitForLog("server change applied", 10_000, { server: r.name }),
      ),
    );
    const res = await this.stack.api("/api/v1/clusters", {
      body: { name: "prod", server: this.cluster.url, resources: ["ingresses"] },
    });
    if (res.status !== 201) throw new Error(`registering the cluster: ${res.status} ${JSON.stringify(res.body)}`);
    await this.waitWatching();
  }

  /** Waits until the cluster's ingresses are watched (status `watching`). */
  async waitWatching(timeoutMs = 20_000): Promise<void> {
    await waitFor(
      async () => {
        const res = await this.stack.api("/api/v1/clusters/prod");
        const resources = res.body?.status?.resources as { state: string }[] | undefined;
        return !!resources?.length && resources.every((r) => r.state === "watching");
      },
      { timeoutMs, message: "cluster prod watching" },
    );
  }

  service(name: ServiceName): ServiceProcess {
    return this.#current[name];
  }

  /** kill -9, as a crash or an OOM kill does. */
  async kill(name: ServiceName): Promise<void> {
    await this.#current[name].kill("SIGKILL");
  }

  /** Starts a new process of the service (as its supervisor would) and waits until it is ready. */
  async restart(name: ServiceName): Promise<ServiceProcess> {
    const svc = startService(name, this.stack.env);
    this.#started.push(svc);
    this.#current[name] = svc;
    await svc.waitForLog(name === "api" ? "listening" : "ready", 20_000);
    return svc;
  }

  async stop(): Promise<void> {
    const all = [...Object.values(this.stack.services), ...this.#started];
    await Promise.all(all.map((s) => s.kill("SIGKILL")));
    await Promise.all(this.receivers.map((r) => r.close()));
    await this.sim.stop();
    await this.#backends.stop();
  }
}
