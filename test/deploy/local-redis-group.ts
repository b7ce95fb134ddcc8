import { Redis } from "@mcic/core";
import { waitFor } from "@mcic/core/testing";
import { type ComposeService, HA_NODES, commandOf, mountsOf } from "./compose-file.js";
import { LocalAddresses } from "./local-addresses.js";
import type { LocalProcess, LocalProcesses } from "./local-processes.js";

/**
 * The Redis nodes and sentinels of docker-compose.yml's profile "ha" as local processes: each
 * service's command (deploy/redis/redis-ha.sh) with its variables, on loopback ports. Names are
 * "localhost", not an address, so Sentinel resolves and announces names as it does in containers.
 */
export class LocalRedisGroup {
  readonly masterName: string;
  private readonly processes = new Map<string, LocalProcess>();
  private readonly dataDirs = new Map<string, string>();

  private constructor(
    private readonly services: Record<string, ComposeService>,
    private readonly local: LocalProcesses,
    private readonly addrs: LocalAddresses,
    private readonly ports: { redis: string; sentinel: string },
    tempDir: (name: string) => string,
  ) {
    this.masterName = this.envOf("redis-1").MASTER_NAME ?? "";
    for (const name of [...HA_NODES.redis, ...HA_NODES.sentinel]) this.dataDirs.set(name, tempDir(name));
  }

  static async create(
    services: Record<string, ComposeService>,
    local: LocalProcesses,
    tempDir: (name: string) => string,
  ): Promise<LocalRedisGroup> {
    const env = services["redis-1"]?.environment ?? {};
    const ports = {
      redis: (env.INITIAL_MASTER ?? "").split(":")[1] ?? "",
      sentinel: (env.SENTINELS ?? "").split(",")[0]?.split(":")[1] ?? "",
    };
    const addrs = new LocalAddresses("localhost");
    for (const name of HA_NODES.redis) await addrs.add(name, ports.redis);
    for (const name of HA_NODES.sentinel) await addrs.add(name, ports.sentinel);
    return new LocalRedisGroup(services, local, addrs, ports, tempDir);
  }

  private envOf(name: string): Record<string, string | null> {
    return this.services[name]?.environment ?? {};
  }

  private isSentinel(name: string): boolean {
    return (HA_NODES.sentinel as readonly string[]).includes(name);
  }

  portOf(name: string): number {
    return this.addrs.port(name, this.isSentinel(name) ? this.ports.sentinel : this.ports.redis);
  }

  /** A URL or list of the compose file with the group's addresses made local. */
  localize(text: string): string {
    return this.addrs.rewrite(text);
  }

  dataDir(name: string): string {
    return this.dataDirs.get(name) ?? "";
  }

  /** Runs the service's command with its variables, in its data directory (or `dataDir`). */
  start(name: string, dataDir = this.dataDir(name)): LocalProcess {
    const svc = this.services[name] ?? {};
    const mounts = mountsOf(svc);
    const argv = commandOf(svc).map((arg) => mounts.find((m) => m.target === arg)?.source ?? arg);
    const env: Record<string, string> = {
      [this.isSentinel(name) ? "SENTINEL_PORT" : "REDIS_PORT"]: String(this.portOf(name)),
    };
    for (const [key, value] of Object.entries(this.envOf(name))) {
      if (value !== null) env[key] = key === "ANNOUNCE_HOST" ? "localhost" : this.addrs.rewrite(value);
    }
    // "-::1": also IPv6 loopback when there is one, wherever "localhost" resolves first.
    const proc = this.local.run([...argv, "--bind", "127.0.0.1", "-::1"], { env, cwd: dataDir });
    this.processes.set(name, proc);
    return proc;
  }

  /** The last lines a node printed, for failure messages. */
  tail(name: string): string {
    return (this.processes.get(name)?.output.text ?? "").split("\n").slice(-15).join("\n");
  }

  async kill(name: string): Promise<void> {
    await this.processes.get(name)?.kill();
  }

  /** Waits for a line of the script's (or the server's) output. */
  says(name: string, line: string): Promise<true> {
    const proc = this.processes.get(name);
    return waitFor(() => proc?.output.text.includes(line) === true || undefined, {
      message: `"${line}" from ${name}:\n${proc?.output.text}`,
    });
  }

  /** One command on a fresh connection. */
  async ask(name: string, ...command: string[]): Promise<unknown> {
    const client = new Redis({
      port: this.portOf(name),
      host: "127.0.0.1",
      lazyConnect: true,
      retryStrategy: () => null,
    });
    // A refused connection rejects connect() below; without a listener ioredis would also print it.
    client.on("error", () => undefined);
    try {
      await client.connect();
      return await client.call(command[0] as string, ...command.slice(1));
    } finally {
      client.disconnect();
    }
  }

  /** "host:port" of the master as a sentinel names it. */
  async masterOf(sentinel: string): Promise<string> {
    return ((await this.ask(sentinel, "SENTINEL", "get-master-addr-by-name", this.masterName)) as string[]).join(":");
  }

  /** Both Redis nodes, then the sentinels, each once the one before can be used. */
  async startAll(): Promise<void> {
    const [first, second] = HA_NODES.redis;
    this.start(first);
    await this.says(first, "redis-ha: starting as the master");
    this.start(second);
    await this.says(second, `starting as a replica of localhost:${this.portOf(first)}`);
    await waitFor(async () => String(await this.ask(first, "INFO", "replication")).includes("connected_slaves:1"), {
      message: `${second} replicating ${first}`,
    });
    for (const name of HA_NODES.sentinel) this.start(name);
    for (const name of HA_NODES.sentinel) {
      await waitFor(async () => (await this.masterOf(name)) === `localhost:${this.portOf(first)}`, {
        message: `${name} to watch ${first}`,
      });
    }
  }
}
