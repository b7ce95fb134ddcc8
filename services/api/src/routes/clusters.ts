import {
  ClusterInputSchema,
  NotFoundError,
  type Registry,
  type SecretBox,
  ValidationError,
  dnsLabel,
} from "@mcic/core";
import type { Router } from "@koa/router";
import { readBody } from "../body.js";
import { toClusterView, toStoredCluster } from "../cluster-records.js";

export interface ClusterRouteDeps {
  registry: Registry;
  box: SecretBox;
  now: () => Date;
}

/** Checks a path name before it is used as a Redis key: a 404 must never touch odd keys. */
export function pathName(name: string | undefined, what: string): string {
  if (name === undefined || !dnsLabel.safeParse(name).success) throw new NotFoundError(what, name ?? "");
  return name;
}

export function mountClusterRoutes(router: Router, deps: ClusterRouteDeps): void {
  const { registry, box, now } = deps;

  router.get("/api/v1/clusters", async (ctx) => {
    ctx.body = (await registry.listClusters()).map((c) => toClusterView(c));
  });

  router.post("/api/v1/clusters", async (ctx) => {
    const input = await readBody(ctx, ClusterInputSchema);
    const stored = toStoredCluster(input, box, now());
    await registry.createCluster(stored);
    ctx.status = 201;
    ctx.set("Location", `/api/v1/clusters/${stored.name}`);
    ctx.body = toClusterView(stored);
  });

  router.get("/api/v1/clusters/:name", async (ctx) => {
    const name = pathName(ctx.params.name, "cluster");
    const stored = await registry.getCluster(name);
    if (!stored) throw new NotFoundError("cluster", name);
    ctx.body = toClusterView(stored, await registry.clusterStatus(name));
  });

  router.put("/api/v1/clusters/:name", async (ctx) => {
    const name = pathName(ctx.params.name, "cluster");
    const input = await readBody(ctx, ClusterInputSchema);
    if (input.name !== name) {
      throw new ValidationError("name in body differs from the path", [{ path: "name", message: `must be "${name}"` }]);
    }
    const previous = await registry.getCluster(name);
    if (!previous) throw new NotFoundError("cluster", name);
    const stored = toStoredCluster(input, box, now(), previous.createdAt);
    await registry.replaceCluster(stored);
    ctx.body = toClusterView(stored);
  });

  router.delete("/api/v1/clusters/:name", async (ctx) => {
    await registry.deleteCluster(pathName(ctx.params.name, "cluster"));
    ctx.status = 204;
  });
}
