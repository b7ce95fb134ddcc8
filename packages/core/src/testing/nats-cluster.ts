import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { freePort, launch, type ServerRecipe, serverHandle, type TestServer } from "./servers.js";
import { waitFor } from "./wait-for.js";

/** One `nats-server -js` of a test cluster: kill/restart keep its ports, routes and store. */
export interface NatsClusterNode extends TestServer {
  /** Its `--server_name`, the name JetStream gives leaders and replicas. */
  readonly name: string;
  /** HTTP monitoring port (`/jsz`, `/routez`). */
  readonly monitorPort: number;
}

export interface NatsCluster {
  /** Every node's client URL, comma separated, as NATS_URL takes a cluster. */
  readonly url: string;
  readonly nodes: readonly NatsClusterNode[];
  /** Resolves once every running node names the same JetStream meta leader and it sees all peers current. */
  ready(timeoutMs?: number): Promise<void>;
  /** Index in `nodes` of the node leading the stream now; waits while the stream has no leader. */
  streamLeader(stream: string, timeoutMs?: number): Promise<number>;
  /** Kills every node and removes their data. */
  stop(): Promise<void>;
}

const MetaSchema = z.object({
  meta_cluster: z
    .object({
      leader: z.string().optional(),
      replicas: z.array(z.object({ name: z.string(), current: z.boolean().optional() })).optional(),
    })
    .optional(),
  account_details: z
    .array(
      z.object({
        stream_detail: z
          .array(z.object({ name: z.string(), cluster: z.object({ leader: z.string().optional() }).optional() }))
          .optional(),
      }),
    )
    .optional(),
});
type Jsz = z.infer<typeof MetaSchema>;

interface Ports {
  client: number;
  cluster: number;
  monitor: number;
}

function nodeRecipe(name: string, ports: Ports, all: Ports[]): ServerRecipe {
  const routes = all.filter((p) => p !== ports).map((p) => `nats://127.0.0.1:${p.cluster}`);
  return {
    binary: "nats-server",
    args: (port, dir) => [
      ...["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir, "-m", String(ports.monitor)],
      ...["--server_name", name, "--cluster_name", "mcic-test", "--cluster", `nats://127.0.0.1:${ports.cluster}`],
      ...["--routes", routes.join(",")],
    ],
    ready: /Server is ready/,
    url: (port) => `nats://127.0.0.1:${port}`,
  };
}

/** A node's /jsz, or undefined when it does not answer (killed, starting). */
async function jsz(node: NatsClusterNode, query = ""): Promise<Jsz | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${node.monitorPort}/jsz${query}`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? MetaSchema.parse(await res.json()) : undefined;
  } catch {
    return undefined;
  }
}

async function launchAll(n: number): Promise<NatsClusterNode[]> {
  const ports: Ports[] = [];
  for (let i = 0; i < n; i++)
    ports.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
  const dirs = ports.map(() => mkdtempSync(join(tmpdir(), "mcic-nats-cluster-")));
  const recipes = ports.map((p, i) => nodeRecipe(`n${i}`, p, ports));
  const started = await Promise.allSettled(
    recipes.map((r, i) => launch(r, (ports[i] as Ports).client, dirs[i] as string)),
  );
  const nodes = started.flatMap((s, i) =>
    s.status === "fulfilled"
      ? [
          {
            ...serverHandle(recipes[i] as ServerRecipe, (ports[i] as Ports).client, dirs[i] as string, s.value),
            name: `n${i}`,
            monitorPort: (ports[i] as Ports).monitor,
          },
        ]
      : [],
  );
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await Promise.all(nodes.map((node) => node.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    throw failed.reason;
  }
  return nodes;
}

/**
 * `n` real `nats-server -js` processes routed to each other as one JetStream cluster (nats-server
 * 2.9), on random ports with their own store directories. Resolves once JetStream has a meta leader.
 */
export async function startNatsCluster(n = 3): Promise<NatsCluster> {
  let nodes: NatsClusterNode[] | undefined;
  // Ports found free can be taken before a node binds them: start over a few times.
  for (let attempt = 0; !nodes; attempt++) {
    try {
      nodes = await launchAll(n);
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }
  const all = nodes;
  const cluster: NatsCluster = {
    url: all.map((node) => node.url).join(","),
    nodes: all,
    ready: async (timeoutMs = 20_000) => {
      await waitFor(
        async () => {
          const views = await Promise.all(all.map(async (node) => ({ node, view: await jsz(node) })));
          const live = views.filter((v) => v.view !== undefined);
          const leader = live[0]?.view?.meta_cluster?.leader;
          if (!leader || live.some((v) => v.view?.meta_cluster?.leader !== leader)) return false;
          const peers = live.find((v) => v.node.name === leader)?.view?.meta_cluster?.replicas;
          // A killed node stays listed (not current): only the running ones must have caught up.
          return live.every(
            (v) => v.node.name === leader || peers?.some((p) => p.name === v.node.name && p.current === true),
          );
        },
        { timeoutMs, intervalMs: 100, message: "a JetStream meta leader every running node agrees on" },
      );
    },
    streamLeader: (stream, timeoutMs = 20_000) =>
      waitFor(
        async () => {
          const views = await Promise.all(all.map((node) => jsz(node, "?streams=true")));
          const index = views.findIndex((v, i) =>
            v?.account_details?.some((a) =>
              a.stream_detail?.some((s) => s.name === stream && s.cluster?.leader === all[i]?.name),
            ),
          );
          return index >= 0 ? index : undefined;
        },
        { timeoutMs, intervalMs: 100, message: `a leader of stream ${stream}` },
      ),
    stop: async () => {
      await Promise.all(all.map((node) => node.stop()));
    },
  };
  try {
    await cluster.ready();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
