import type { StoredCluster } from "@mcic/core";
import { patchCluster, toClusterView, toStoredCluster } from "../cluster-records.js";
import { MERGE_PATCH_TYPES } from "../merge-patch.js";
import { CLUSTER_PATCH_EXAMPLES, ClusterPatchBody } from "../patch-schemas.js";
import type { RouteDeps } from "../route-deps.js";
import { requireCluster, requireSameName } from "../route-parts.js";
import type { ApiRoutes } from "../routing.js";
import { CLUSTER_EXAMPLES, ClusterBody, ClusterViewSchema, NameParams } from "../schemas.js";

export function mountClusterRoutes(routes: ApiRoutes, deps: Pick<RouteDeps, "registry" | "box" | "now">): void {
  const { registry, box, now } = deps;
  const params = NameParams("cluster");
  const tag = "clusters";

  routes.add({
    method: "get",
    path: "/api/v1/clusters",
    operationId: "listClusters",
    summary: "List clusters and their watch state",
    tag,
    responses: {
      200: { description: "every registered cluster, by name, with `status`", schema: ClusterViewSchema.array() },
    },
    handler: async (ctx) => {
      const clusters = await registry.listClusters();
      const statuses = await Promise.all(clusters.map((c) => registry.clusterStatus(c.name)));
      ctx.body = clusters.map((c, i) => toClusterView(c, statuses[i]));
    },
  });

  routes.add({
    method: "post",
    path: "/api/v1/clusters",
    operationId: "createCluster",
    summary: "Register a cluster",
    description: "The kubeconfig or connection is checked and its credentials sealed before anything is stored.",
    tag,
    body: ClusterBody,
    examples: CLUSTER_EXAMPLES,
    responses: {
      201: {
        description: "registered; watchers pick it up within a second",
        schema: ClusterViewSchema,
        headers: { Location: { description: "URL of the new cluster", schema: { type: "string" } } },
      },
      409: { description: "a cluster of that name exists" },
    },
    handler: async (ctx, { body }) => {
      const stored = toStoredCluster(body, box, now());
      await registry.createCluster(stored);
      ctx.status = 201;
      ctx.set("Location", `/api/v1/clusters/${stored.name}`);
      ctx.body = toClusterView(stored);
    },
  });

  routes.add({
    method: "get",
    path: "/api/v1/clusters/{name}",
    operationId: "getCluster",
    summary: "Get a cluster and the watch state of each resource",
    tag,
    params,
    what: "cluster",
    responses: { 200: { description: "the cluster, with `status.resources[]`", schema: ClusterViewSchema } },
    handler: async (ctx, { params }) => {
      const stored = await requireCluster(registry, params.name);
      ctx.body = toClusterView(stored, await registry.clusterStatus(params.name));
    },
  });

  routes.add({
    method: "put",
    path: "/api/v1/clusters/{name}",
    operationId: "replaceCluster",
    summary: "Replace a cluster's registration",
    description: "The body is a whole registration, as for POST; `name` must equal the path.",
    tag,
    params,
    what: "cluster",
    body: ClusterBody,
    examples: CLUSTER_EXAMPLES,
    responses: { 200: { description: "replaced", schema: ClusterViewSchema } },
    handler: async (ctx, { params, body }) => {
      requireSameName(body.name, params.name);
      const previous = await requireCluster(registry, params.name);
      const stored = toStoredCluster(body, box, now(), previous.createdAt);
      await registry.replaceCluster(stored);
      ctx.body = toClusterView(stored);
    },
  });

  routes.add({
    method: "patch",
    path: "/api/v1/clusters/{name}",
    operationId: "patchCluster",
    summary: "Change some fields of a cluster's registration (JSON Merge Patch)",
    description:
      "Applies an RFC 7396 merge patch (`application/merge-patch+json`, or `application/json`) to the stored " +
      "registration and validates the result like a PUT body. The stored credentials are kept unless the patch " +
      "names a connection field (`kubeconfig`, `context`, `server`, `token`, `caData`, `insecureSkipTLSVerify`); " +
      "the connection it gives then replaces them whole.",
    tag,
    params,
    what: "cluster",
    body: ClusterPatchBody,
    bodyTypes: MERGE_PATCH_TYPES,
    examples: CLUSTER_PATCH_EXAMPLES,
    responses: { 200: { description: "patched", schema: ClusterViewSchema } },
    handler: async (ctx, { params, body }) => {
      const at = now();
      const stored = await registry.updateCluster(params.name, (current) => patchCluster(current, body, box, at));
      ctx.body = toClusterView(stored as StoredCluster);
    },
  });

  routes.add({
    method: "delete",
    path: "/api/v1/clusters/{name}",
    operationId: "deleteCluster",
    summary: "Stop watching a cluster and forget it",
    tag,
    params,
    what: "cluster",
    responses: { 204: { description: "deleted" } },
    handler: async (ctx, { params }) => {
      await registry.deleteCluster(params.name);
      ctx.status = 204;
    },
  });
}
