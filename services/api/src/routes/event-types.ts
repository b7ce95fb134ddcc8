import { eventCatalog } from "@mcic/core";
import type { RouteDeps } from "../route-deps.js";
import type { ApiRoutes } from "../routing.js";
import { EventTypeSchema } from "../schemas.js";

export function mountEventTypeRoutes(routes: ApiRoutes, deps: Pick<RouteDeps, "registry">): void {
  routes.add({
    method: "get",
    path: "/api/v1/event-types",
    operationId: "listEventTypes",
    summary: "The CloudEvent types mcic can emit now",
    description:
      "`dev.mcic.<resource>.<added|modified|deleted>` for each resource the registered clusters watch (one entry " +
      "per API group and version, with the clusters watching it), then the constant types `dev.mcic.ping` and " +
      "`dev.mcic.snapshot.completed`.",
    tag: "servers",
    responses: { 200: { description: "every type, changes first", schema: EventTypeSchema.array() } },
    handler: async (ctx) => {
      ctx.body = eventCatalog(await deps.registry.listClusters());
    },
  });
}
