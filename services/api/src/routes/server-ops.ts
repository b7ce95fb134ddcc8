import { randomUUID } from "node:crypto";
import {
  type AttemptResult,
  type CloudEvent,
  McicError,
  SnapshotCompletedDataSchema,
  generateWebhookSecret,
  inactiveReason,
  openServer,
} from "@mcic/core";
import { z } from "zod";
import { DISPATCHERS_HEADER, DISPATCHERS_HEADER_DOC } from "../dispatcher-sync.js";
import type { RouteDeps } from "../route-deps.js";
import { NO_OPTIONS, UnavailableError, requireServer } from "../route-parts.js";
import type { ApiRoutes } from "../routing.js";
import { NameParams } from "../schemas.js";
import {
  ROTATE_SECRET_EXAMPLES,
  ResyncResultSchema,
  RotateSecretBody,
  RotateSecretResultSchema,
  TestResultSchema,
} from "../server-ops-schemas.js";
import { previousExpiry, rotateSecret } from "../secret-rotation.js";
import { NO_WATCHER, awaitOutcomes, startSnapshot } from "../snapshots.js";

class ServerDisabledError extends McicError {
  constructor(name: string, reason: string) {
    super("server_disabled", `server "${name}" is disabled (${reason}); enable it with PUT first`, 409);
  }
}

export function mountServerOpsRoutes(routes: ApiRoutes, deps: RouteDeps): void {
  const { registry, box, now, logger } = deps;
  const params = NameParams("server");
  const tag = "deliveries";
  // Not a route's schema: the data of the CloudEvent that ends each snapshot (see the API description).
  const { $schema, ...completed } = z.toJSONSchema(SnapshotCompletedDataSchema) as Record<string, unknown>;
  routes.docs.registerComponent("schemas", "SnapshotCompletedData", completed);

  routes.add({
    method: "post",
    path: "/api/v1/servers/{name}/test",
    operationId: "testServer",
    summary: "Send one signed ping event to a server now",
    description:
      "Sends the CloudEvent `{type: dev.mcic.ping, source: /mcic, id: ping/<uuid>, subject: <server>, data: " +
      "{message}}`, signed with the server's secret and with its headers, and answers how it went. `ok: false` " +
      "is still a 200: the test ran. `error` says why in a few fixed words (`HTTP 503`, `timeout`, `connection " +
      "refused`, `tls error`, `egress denied`, ...), never what the server answered. Nothing is recorded.",
    tag,
    params,
    what: "server",
    ...NO_OPTIONS,
    responses: { 200: { description: "the result of the attempt", schema: TestResultSchema } },
    handler: async (ctx, { params }) => {
      const stored = await requireServer(registry, params.name);
      const event: CloudEvent = {
        specversion: "1.0",
        id: `ping/${randomUUID()}`,
        source: "/mcic",
        type: "dev.mcic.ping",
        subject: params.name,
        time: now().toISOString(),
        datacontenttype: "application/json",
        data: { message: "ping from mcic" },
      };
      // openServer includes the previous secret during a rotation's overlap: the ping signs like deliveries.
      const result = await deps.sender.send(openServer(stored, box, now().getTime()), event);
      ctx.body = {
        ok: result.ok,
        status: result.status,
        durationMs: result.durationMs,
        ...(result.ok ? {} : { error: testError(result) }),
      };
    },
  });

  routes.add({
    method: "post",
    path: "/api/v1/servers/{name}/rotate-secret",
    operationId: "rotateServerSecret",
    summary: "Replace a server's signing secret, with an overlap",
    description:
      "Stores a new secret (the one given, or a generated one) and keeps the current one signing too for " +
      "`graceSeconds` (default 86400, at most 2592000): deliveries and test pings then carry `webhook-signature: " +
      "v1,<new> v1,<old>`. Update the receiver to the new secret within the grace. The old secret is never shown. " +
      "Answered once every live dispatcher signs with the new secret (at most 5 s; see `X-Mcic-Dispatchers`).",
    tag: "servers",
    params,
    what: "server",
    body: RotateSecretBody,
    bodyOptional: true,
    examples: ROTATE_SECRET_EXAMPLES,
    responses: {
      200: {
        description: "rotated; the new `secret` is shown here and never again",
        schema: RotateSecretResultSchema,
        headers: { [DISPATCHERS_HEADER]: DISPATCHERS_HEADER_DOC },
      },
    },
    handler: async (ctx, { params, body }) => {
      const secret = body.secret ?? generateWebhookSecret();
      const at = now();
      await registry.updateServer(params.name, (current) =>
        rotateSecret(current, box, { secret, graceSeconds: body.graceSeconds, now: at }),
      );
      logger.info({ server: params.name, graceSeconds: body.graceSeconds }, "server secret rotated");
      await deps.awaitDispatchers(ctx);
      ctx.body = { secret, previousExpiresAt: previousExpiry({ graceSeconds: body.graceSeconds, now: at }) };
    },
  });

  routes.add({
    method: "post",
    path: "/api/v1/servers/{name}/resync",
    operationId: "resyncServer",
    summary: "Deliver the current state of every matching object to this server alone",
    description:
      "Asks every watcher (NATS request, replies collected for 500 ms) to list its clusters afresh and queue each " +
      "object matching the server's filters as an ADDED event with `snapshot: true` and `requestId`, for this " +
      "server only; each (cluster, resource) the filters allow then ends with one `dev.mcic.snapshot.completed` " +
      "event `{cluster, group, version, resource, requestId, count, resourceVersion}` (see the API description). " +
      "Answers with each cluster's outcome once none is pending, or after at most 5 s with what is known: " +
      "**200** when every cluster is `taken` or `failed`, **202** when some are still `pending` (follow them in " +
      `\`status.snapshot\` of \`GET /servers/{name}\`). A cluster no watcher answered for is \`failed\` ("${NO_WATCHER}"). ` +
      "A new resync replaces the previous one's record.",
    tag,
    params,
    what: "server",
    ...NO_OPTIONS,
    responses: {
      200: { description: "every cluster's snapshot was taken or failed", schema: ResyncResultSchema },
      202: { description: "some clusters are still pending", schema: ResyncResultSchema },
      409: { description: "the server is disabled" },
      503: { description: "NATS or Redis is unreachable" },
    },
    handler: async (ctx, { params }) => {
      const stored = await requireServer(registry, params.name);
      const inactive = inactiveReason(stored, await registry.serverStatus(params.name));
      if (inactive) throw new ServerDisabledError(params.name, inactive);
      let started: Awaited<ReturnType<typeof startSnapshot>["started"]>;
      try {
        started = await startSnapshot(deps.snapshot, stored).started;
      } catch (err) {
        throw new UnavailableError(`the snapshot could not be requested: ${(err as Error).message}`, err);
      }
      const status = await awaitOutcomes(deps.snapshot.outcomes, started, params.name, deps.snapshotOutcomeWaitMs);
      logger.info(
        {
          server: params.name,
          requestId: status.requestId,
          clusters: status.clusters.map((c) => `${c.cluster}:${c.state}`),
        },
        "resync requested",
      );
      ctx.status = status.clusters.some((c) => c.state === "pending") ? 202 : 200;
      ctx.body = status;
    },
  });
}

/**
 * Why a test ping failed, in a few fixed words. Never the peer's text or the socket's message:
 * whoever may register a URL could otherwise use the test to read what hosts inside the network say.
 */
function testError(result: AttemptResult): string {
  if (result.status !== 0) return `HTTP ${result.status}`;
  return result.errorClass ?? "connection error";
}
