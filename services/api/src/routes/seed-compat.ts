import {
  ClusterInputSchema,
  ConflictError,
  EVENT_TYPES,
  type FieldError,
  type Logger,
  NotFoundError,
  type Registry,
  type SecretBox,
  ServerInputSchema,
  type StoredCluster,
  type StoredServer,
  ValidationError,
  fieldErrors,
  sealContext,
} from "@mcic/core";
import type { z } from "zod";
import { toStoredCluster } from "../cluster-records.js";
import type { RouteDeps } from "../route-deps.js";
import type { ApiRoutes } from "../routing.js";
import {
  SEED_EVENT_WORDS,
  SEED_EXAMPLES,
  SeedBody,
  SeedDeleteBody,
  type SeedInput,
  SeedQuery,
  type SeedView,
  SeedViewSchema,
  namespaceList,
} from "../seed-schemas.js";
import { toStoredServer } from "../server-records.js";

const PATH = "/cic/nitro/v1/config/controller";

/** Names the seed field behind a field of the cluster or server input it was mapped to. */
function renamed(errors: FieldError[], names: Record<string, string>): FieldError[] {
  return errors.map((e) => {
    const [head, ...rest] = e.path.split(".");
    const mapped = names[head ?? ""];
    return mapped ? { ...e, path: [mapped, ...rest].join(".") } : e;
  });
}

function check<S extends z.ZodType>(schema: S, value: unknown, names: Record<string, string>): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError("request body is invalid", renamed(fieldErrors(result.error), names));
  return result.data;
}

const serverName = (cluster: string, i: number) => `${cluster}-${i}`;

/** The servers a seed mapping made for a cluster: `<cluster>-<i>`, filtered to that cluster alone. */
function seedServersOf(cluster: string, servers: StoredServer[]): StoredServer[] {
  const pattern = new RegExp(`^${cluster}-(\\d+)$`);
  return servers
    .filter((s) => pattern.test(s.name) && s.filters.clusters?.length === 1 && s.filters.clusters[0] === cluster)
    .sort((a, b) => Number(pattern.exec(a.name)?.[1]) - Number(pattern.exec(b.name)?.[1]));
}

function eventTypesOf(input: SeedInput) {
  const wanted = new Set((input.WatchEvents ?? []).map((w) => SEED_EVENT_WORDS[w as keyof typeof SEED_EVENT_WORDS]));
  return EVENT_TYPES.filter((t) => wanted.has(t));
}

/** The cluster and servers a seed body stands for, validated as if posted to /api/v1. */
function plan(input: SeedInput, box: SecretBox, now: Date, previous?: StoredCluster) {
  const namespaces = namespaceList(input.Namespaces);
  const clusterInput = check(
    ClusterInputSchema,
    {
      name: input.ClusterName,
      server: input.KubeURL,
      ...(input.KubeServAcctToken !== undefined ? { token: input.KubeServAcctToken } : {}),
      ...(namespaces.length > 0 ? { namespaces } : {}),
      resources: ["ingresses"],
    },
    { name: "ClusterName", server: "KubeURL", token: "KubeServAcctToken", namespaces: "Namespaces" },
  );
  const eventTypes = eventTypesOf(input);
  const servers = input.ServerURL.map((url, i) =>
    check(
      ServerInputSchema,
      {
        name: serverName(input.ClusterName, i),
        url,
        filters: { clusters: [input.ClusterName], ...(eventTypes.length > 0 ? { eventTypes } : {}) },
      },
      { name: "ClusterName", url: `ServerURL.${i}` },
    ),
  );
  return { cluster: toStoredCluster(clusterInput, box, now, previous?.createdAt), servers, eventTypes };
}

/** Runs undo steps newest first; a failing step is logged, the others still run. */
async function rollback(undo: (() => Promise<void>)[], logger: Logger): Promise<void> {
  for (const step of undo.reverse()) {
    await step().catch((err: unknown) => logger.error({ err }, "seed-compat rollback step failed"));
  }
}

function view(
  cluster: StoredCluster,
  servers: StoredServer[],
  box: SecretBox,
  secrets: Map<string, string> = new Map(),
): SeedView {
  const connection = JSON.parse(box.open(cluster.credentials, sealContext.clusterCredentials(cluster.name))) as {
    server: string;
  };
  return {
    ClusterName: cluster.name,
    KubeURL: connection.server,
    Namespaces: cluster.namespaces ?? [],
    ServerURL: servers.map((s) => s.url),
    WatchEvents: servers[0]?.filters.eventTypes ?? [],
    Servers: servers.map((s) => {
      const secret = secrets.get(s.name);
      return { name: s.name, url: s.url, ...(secret ? { secret } : {}) };
    }),
  };
}

async function requireCluster(registry: Registry, name: string): Promise<StoredCluster> {
  const cluster = await registry.getCluster(name);
  if (!cluster) throw new NotFoundError("cluster", name);
  return cluster;
}

export function mountSeedCompatRoutes(routes: ApiRoutes, deps: RouteDeps): void {
  const { registry, box, now, logger } = deps;
  const tag = "seed compatibility";
  const docs = " See docs/seed-compat.md for the mapping.";

  routes.add({
    method: "get",
    path: PATH,
    operationId: "seedList",
    summary: "List prototype-style mappings (clusters that have `<ClusterName>-<i>` servers)",
    description: `With \`?ClusterName=\`, that cluster's mapping alone (404 if the cluster is unknown).${docs}`,
    tag,
    query: SeedQuery,
    responses: {
      200: { description: "the mappings", schema: SeedViewSchema.array() },
      404: { description: "no such cluster" },
    },
    handler: async (ctx, { query }) => {
      const servers = await registry.listServers();
      if (query.ClusterName) {
        const cluster = await requireCluster(registry, query.ClusterName);
        ctx.body = [view(cluster, seedServersOf(cluster.name, servers), box)];
        return;
      }
      ctx.body = (await registry.listClusters()).flatMap((c) => {
        const mine = seedServersOf(c.name, servers);
        return mine.length > 0 ? [view(c, mine, box)] : [];
      });
    },
  });

  routes.add({
    method: "post",
    path: PATH,
    operationId: "seedCreate",
    summary: "Register a cluster and one server per ServerURL, all or nothing",
    description: `The servers' generated secrets are in \`Servers[].secret\`, shown this once.${docs}`,
    tag,
    body: SeedBody,
    examples: SEED_EXAMPLES,
    responses: {
      201: { description: "registered", schema: SeedViewSchema },
      409: { description: "the cluster or one of the servers exists; nothing was stored" },
    },
    handler: async (ctx, { body }) => {
      const { cluster, servers } = plan(body, box, now());
      if (await registry.getCluster(cluster.name)) throw new ConflictError("cluster", cluster.name);
      const taken = await Promise.all(servers.map((s) => registry.getServer(s.name)));
      const clash = servers.find((_, i) => taken[i]);
      if (clash) throw new ConflictError("server", clash.name);

      const secrets = new Map<string, string>();
      const stored: StoredServer[] = [];
      const undo: (() => Promise<void>)[] = [];
      try {
        await registry.createCluster(cluster);
        undo.push(() => registry.deleteCluster(cluster.name));
        for (const input of servers) {
          const { stored: s, secret } = toStoredServer(input, box, now());
          await registry.createServer(s);
          undo.push(() => registry.deleteServer(s.name));
          stored.push(s);
          if (secret) secrets.set(s.name, secret);
        }
      } catch (err) {
        await rollback(undo, logger);
        throw err;
      }
      // No snapshot: the cluster is new, so its watcher publishes every existing object as ADDED anyway.
      ctx.status = 201;
      ctx.set("Location", `${PATH}?ClusterName=${cluster.name}`);
      ctx.body = view(cluster, stored, box, secrets);
    },
  });

  routes.add({
    method: "put",
    path: PATH,
    operationId: "seedReplace",
    summary: "Replace a mapping: the cluster, and its servers to match ServerURL",
    description:
      "Servers `<ClusterName>-<i>` that exist keep their secret, headers and options (URL and filters are " +
      "updated, a 410-disabled one is enabled again); missing ones are created (secret shown once); those past " +
      `the new ServerURL count are deleted. All or nothing.${docs}`,
    tag,
    body: SeedBody,
    examples: SEED_EXAMPLES,
    responses: {
      200: { description: "replaced", schema: SeedViewSchema },
      404: { description: "no such cluster" },
      409: { description: "a `<ClusterName>-<i>` server exists that this mapping did not make; nothing was changed" },
    },
    handler: async (ctx, { body }) => {
      const previous = await requireCluster(registry, body.ClusterName);
      const at = now();
      const { cluster, servers, eventTypes } = plan(body, box, at, previous);
      const all = await registry.listServers();
      const byName = new Map(all.map((s) => [s.name, s]));
      const mine = new Set(seedServersOf(cluster.name, all).map((s) => s.name));
      const clash = servers.find((s) => byName.has(s.name) && !mine.has(s.name));
      if (clash) throw new ConflictError("server", clash.name);
      const wanted = new Set(servers.map((s) => s.name));
      const extra = [...mine].filter((name) => !wanted.has(name));

      const secrets = new Map<string, string>();
      const result: StoredServer[] = [];
      const created: string[] = [];
      const undo: (() => Promise<void>)[] = [];
      try {
        await registry.replaceCluster(cluster);
        undo.push(() => registry.replaceCluster(previous));
        for (const input of servers) {
          const old = byName.get(input.name);
          if (old) {
            const filters = { ...old.filters, clusters: [cluster.name] };
            if (eventTypes.length > 0) filters.eventTypes = eventTypes;
            else delete filters.eventTypes;
            const next: StoredServer = { ...old, url: input.url, filters, updatedAt: at.toISOString() };
            await registry.replaceServerAndEnable(next);
            undo.push(() => registry.replaceServer(old));
            result.push(next);
          } else {
            const { stored, secret } = toStoredServer(input, box, at);
            await registry.createServer(stored);
            undo.push(() => registry.deleteServer(stored.name));
            result.push(stored);
            created.push(stored.name);
            if (secret) secrets.set(stored.name, secret);
          }
        }
      } catch (err) {
        await rollback(undo, logger);
        throw err;
      }
      // Deleting loses delivery logs and dead letters, which no rollback could restore: so it comes last.
      for (const name of extra) await registry.deleteServer(name).catch(ignoreNotFound);
      for (const name of created) {
        if (result.find((s) => s.name === name)?.enabled) deps.snapshotInBackground(name);
      }
      ctx.body = view(cluster, result, box, secrets);
    },
  });

  routes.add({
    method: "delete",
    path: PATH,
    operationId: "seedDelete",
    summary: "Remove a cluster and its `<ClusterName>-<i>` servers",
    description: `Name the cluster with \`?ClusterName=\` or in the body, as the prototype did.${docs}`,
    tag,
    query: SeedQuery,
    body: SeedDeleteBody,
    bodyOptional: true,
    examples: { body: { summary: "cluster in the body", value: { ClusterName: "cluster-a" } } },
    responses: { 204: { description: "removed" }, 404: { description: "no such cluster" } },
    handler: async (ctx, { query, body }) => {
      if (query.ClusterName && body.ClusterName && query.ClusterName !== body.ClusterName) {
        throw new ValidationError("ClusterName differs between query and body", [
          { path: "ClusterName", message: `query says "${query.ClusterName}", body says "${body.ClusterName}"` },
        ]);
      }
      const name = query.ClusterName ?? body.ClusterName;
      if (!name) {
        throw new ValidationError("ClusterName is required", [
          { path: "ClusterName", message: "required, in the query (?ClusterName=) or the body" },
        ]);
      }
      await requireCluster(registry, name);
      for (const s of seedServersOf(name, await registry.listServers())) {
        await registry.deleteServer(s.name).catch(ignoreNotFound);
      }
      await registry.deleteCluster(name);
      ctx.status = 204;
    },
  });
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof NotFoundError)) throw err;
}
