import type { StoredServer } from "@mcic/core";
import { validate } from "../body.js";
import { DISPATCHERS_HEADER, DISPATCHERS_HEADER_DOC } from "../dispatcher-sync.js";
import type { RouteDeps } from "../route-deps.js";
import { requireSameName, requireServer } from "../route-parts.js";
import type { ApiRoutes } from "../routing.js";
import { NameParams } from "../schemas.js";
import { SERVER_EXAMPLES, ServerBody, ServerViewSchema } from "../server-schemas.js";
import { MERGE_PATCH_TYPES, applyMergePatch } from "../merge-patch.js";
import { SERVER_PATCH_EXAMPLES, ServerPatchBody } from "../patch-schemas.js";
import { toServerDocument, toServerView, toStoredServer } from "../server-records.js";

export function mountServerRoutes(
  routes: ApiRoutes,
  deps: Pick<RouteDeps, "registry" | "box" | "now" | "snapshot" | "snapshotInBackground" | "awaitDispatchers">,
): void {
  const { registry, box, now, awaitDispatchers } = deps;
  const synced = { [DISPATCHERS_HEADER]: DISPATCHERS_HEADER_DOC };
  const waits =
    " Answered once every live dispatcher applied the change (at most 5 s; see the `X-Mcic-Dispatchers` header).";
  const params = NameParams("server");
  const tag = "servers";

  routes.add({
    method: "get",
    path: "/api/v1/servers",
    operationId: "listServers",
    summary: "List servers",
    tag,
    responses: { 200: { description: "every registered server, by name", schema: ServerViewSchema.array() } },
    handler: async (ctx) => {
      ctx.body = (await registry.listServers()).map((s) => toServerView(s, box));
    },
  });

  routes.add({
    method: "post",
    path: "/api/v1/servers",
    operationId: "createServer",
    summary: "Register a server",
    description:
      "With `snapshot: true` (the default) and `enabled: true`, watchers are then asked to deliver the current " +
      `state of every matching object to it (as ADDED events with \`snapshot: true\`).${waits} Events made after ` +
      "the answer are delivered to it.",
    tag,
    body: ServerBody,
    examples: SERVER_EXAMPLES,
    responses: {
      201: {
        description: "registered; a generated `secret` is shown here and never again",
        schema: ServerViewSchema,
        headers: { Location: { description: "URL of the new server", schema: { type: "string" } }, ...synced },
      },
      409: { description: "a server of that name exists" },
    },
    handler: async (ctx, { body }) => {
      const { stored, secret } = toStoredServer(body, box, now());
      await registry.createServer(stored);
      await awaitDispatchers(ctx);
      if (stored.snapshot && stored.enabled) await deps.snapshotInBackground(stored);
      ctx.status = 201;
      ctx.set("Location", `/api/v1/servers/${stored.name}`);
      ctx.body = { ...toServerView(stored, box), ...(secret ? { secret } : {}) };
    },
  });

  routes.add({
    method: "get",
    path: "/api/v1/servers/{name}",
    operationId: "getServer",
    summary: "Get a server and its delivery status",
    tag,
    params,
    what: "server",
    responses: { 200: { description: "the server, with `status`", schema: ServerViewSchema } },
    handler: async (ctx, { params }) => {
      const stored = await requireServer(registry, params.name);
      const [status, snapshot] = await Promise.all([
        registry.serverStatus(params.name),
        deps.snapshot.outcomes.read(params.name),
      ]);
      ctx.body = toServerView(stored, box, status, snapshot);
    },
  });

  routes.add({
    method: "put",
    path: "/api/v1/servers/{name}",
    operationId: "replaceServer",
    summary: "Replace a server's registration",
    description:
      "The body is a whole registration, as for POST; `name` must equal the path. Without `secret` the current " +
      `secret is kept. A server a dispatcher disabled (HTTP 410, or failing for \`disableAfterSeconds\`) is ` +
      `enabled again and its failure window restarts. PATCH changes single fields.${waits}`,
    tag,
    params,
    what: "server",
    body: ServerBody,
    examples: SERVER_EXAMPLES,
    responses: { 200: { description: "replaced", schema: ServerViewSchema, headers: synced } },
    handler: async (ctx, { params, body }) => {
      requireSameName(body.name, params.name);
      const previous = await requireServer(registry, params.name);
      const { stored } = toStoredServer(body, box, now(), previous);
      await registry.replaceServerAndEnable(stored);
      await awaitDispatchers(ctx);
      ctx.body = toServerView(stored, box);
    },
  });

  routes.add({
    method: "patch",
    path: "/api/v1/servers/{name}",
    operationId: "patchServer",
    summary: "Change some fields of a server's registration (JSON Merge Patch)",
    description:
      "Applies an RFC 7396 merge patch (`application/merge-patch+json`, or `application/json`) to the stored " +
      "registration and validates the result like a PUT body; fields the patch leaves out keep their values, the " +
      "secret and headers included. `enabled: true` also enables a server a dispatcher disabled (HTTP 410, or " +
      `failing for \`disableAfterSeconds\`) and restarts its failure window.${waits}`,
    tag,
    params,
    what: "server",
    body: ServerPatchBody,
    bodyTypes: MERGE_PATCH_TYPES,
    examples: SERVER_PATCH_EXAMPLES,
    responses: { 200: { description: "patched", schema: ServerViewSchema, headers: synced } },
    handler: async (ctx, { params, body }) => {
      const at = now();
      const stored = await registry.updateServer(
        params.name,
        (current) => {
          const input = validate(ServerBody, applyMergePatch(toServerDocument(current, box), body));
          requireSameName(input.name, params.name);
          return toStoredServer(input, box, at, current).stored;
        },
        { enable: body.enabled === true },
      );
      await awaitDispatchers(ctx);
      ctx.body = toServerView(stored as StoredServer, box);
    },
  });

  routes.add({
    method: "delete",
    path: "/api/v1/servers/{name}",
    operationId: "deleteServer",
    summary: "Forget a server, its delivery log and dead letters",
    description: `Nothing is sent to it once this answered.${waits}`,
    tag,
    params,
    what: "server",
    responses: { 204: { description: "deleted", headers: synced } },
    handler: async (ctx, { params }) => {
      await registry.deleteServer(params.name);
      await awaitDispatchers(ctx);
      ctx.status = 204;
    },
  });
}
