import type { Command } from "commander";
import { seg } from "../api-client.js";
import { shortResource } from "../cluster-view.js";
import { type Ctx, type Io, contextOf } from "../context.js";
import { ApiError } from "../errors.js";
import { serverState } from "../server-view.js";
import { age, cell, percent, rate, renderTable } from "../text.js";
import {
  type Cluster,
  ClusterSchema,
  DeliverySchema,
  type Server,
  ServerSchema,
  type Stats,
  StatsSchema,
} from "../views.js";

/** How many recent attempts the success rate is taken over. */
const RECENT_ATTEMPTS = 100;
/** Outcomes that count in the success rate: an attempt that was made and answered or failed. */
const ATTEMPTED = new Set(["delivered", "retrying", "dead-lettered"]);

interface ServerHealth {
  server: Server;
  /** Share of the last attempts that delivered; undefined when there were none. */
  successRate?: number;
}

interface Overview {
  clusters: Cluster[];
  servers: (Server & { successRate?: number })[];
  stats?: Stats;
}

export function addStatusCommand(program: Command, io: Io): void {
  program
    .command("status")
    .description(
      "one screen: clusters with the state of each resource, servers with success rate, pending, dead letters",
    )
    .action(async (_options: unknown, command: Command) => {
      const ctx = contextOf(command, io);
      const overview = await gather(ctx);
      ctx.print(overview, () => statusScreen(overview, io.now()));
    });
}

async function gather(ctx: Ctx): Promise<Overview> {
  const [clusterList, serverList, stats] = await Promise.all([
    ctx.api.get("/clusters", ClusterSchema.array()),
    ctx.api.get("/servers", ServerSchema.array()),
    optionalStats(ctx),
  ]);
  const [clusters, servers] = await Promise.all([
    Promise.all(clusterList.map((c) => ctx.api.get(`/clusters/${seg(c.name)}`, ClusterSchema))),
    Promise.all(serverList.map((s) => serverHealth(ctx, s.name))),
  ]);
  return {
    clusters,
    servers: servers.map((h) => ({
      ...h.server,
      ...(h.successRate !== undefined ? { successRate: h.successRate } : {}),
    })),
    ...(stats ? { stats } : {}),
  };
}

/** /stats came with the status page; an API without it still gets a status screen, without rates. */
async function optionalStats(ctx: Ctx): Promise<Stats | undefined> {
  try {
    return await ctx.api.get("/stats", StatsSchema);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

async function serverHealth(ctx: Ctx, name: string): Promise<ServerHealth> {
  const [server, recent] = await Promise.all([
    ctx.api.get(`/servers/${seg(name)}`, ServerSchema),
    ctx.api.get(`/servers/${seg(name)}/deliveries`, DeliverySchema.array(), { limit: RECENT_ATTEMPTS }),
  ]);
  const attempted = recent.filter((d) => ATTEMPTED.has(d.outcome));
  const delivered = attempted.filter((d) => d.outcome === "delivered").length;
  return attempted.length > 0 ? { server, successRate: delivered / attempted.length } : { server };
}

export function statusScreen(o: Overview, now: Date): string {
  const eventRate = new Map(o.stats?.clusters?.map((c) => [c.name, c.eventsPerSecond]) ?? []);
  const deliveryRate = new Map(o.stats?.servers?.map((s) => [s.name, s.deliveriesPerSecond]) ?? []);
  const clusterRows = o.clusters.flatMap((c) => {
    const resources = Array.isArray(c.status?.resources) ? c.status.resources : [];
    const rows = resources.length > 0 ? resources : [{ resource: "-", state: "-" } as const];
    return rows.map((r, i) => [
      i === 0 ? cell(c.name) : "",
      r.resource === "-" ? "-" : cell(shortResource(r.resource)),
      cell(r.state),
      age("lastEventAt" in r ? r.lastEventAt : undefined, now),
      i === 0 ? rate(eventRate.get(c.name)) : "",
      cell("message" in r ? r.message : undefined),
    ]);
  });
  const serverRows = o.servers.map((s) => [
    cell(s.name),
    cell(serverState(s)),
    percent(s.successRate),
    rate(deliveryRate.get(s.name)),
    cell(s.status?.pending),
    cell(s.status?.deadLetters),
    age(s.status?.lastSuccessAt, now),
  ]);
  const clusters =
    clusterRows.length > 0
      ? renderTable(["CLUSTER", "RESOURCE", "STATE", "LAST EVENT", "EVENTS/S", "MESSAGE"], clusterRows)
      : "no clusters registered\n";
  const servers =
    serverRows.length > 0
      ? renderTable(
          ["SERVER", "STATE", "SUCCESS", "DELIVERIES/S", "PENDING", "DEAD LETTERS", "LAST SUCCESS"],
          serverRows,
        )
      : "no servers registered\n";
  return `${clusters}\n${servers}`;
}
