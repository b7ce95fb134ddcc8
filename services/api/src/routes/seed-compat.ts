import { ConflictError, NotFoundError, type StoredServer, ValidationError } from "@mcic/core";
import type { RouteDeps } from "../route-deps.js";
import { requireCluster } from "../route-parts.js";
import type { ApiRoutes } from "../routing.js";
import { plan, rollback, seedServersOf, view } from "../seed-mapping.js";
import { SEED_EXAMPLES, SeedBody, SeedDeleteBody, SeedQuery, SeedViewSchema } from "../seed-schemas.js";
import { toStoredServer } from "../server-records.js";

const PATH = "/cic/nitro/v1/config/controller";

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
      await deps.awaitDispatchers(ctx);
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
      await deps.awaitDispatchers(ctx);
      for (const name of created) {
        const server = result.find((s) => s.name === name);
        if (server?.enabled) await deps.snapshotInBackground(server);
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
      await deps.awaitDispatchers(ctx);
      ctx.status = 204;
    },
  });
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof NotFoundError)) throw err;
}
