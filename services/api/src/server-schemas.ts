import {
  expressionProblem,
  RateLimitSchema,
  ServerFiltersSchema,
  ServerInputSchema,
  SNAPSHOT_STATES,
} from "@mcic/core";
import { z } from "zod";
import { requestEgressPolicy } from "./egress-scope.js";
import { endpointProblems } from "./endpoint-checks.js";
import { isoTime } from "./schemas.js";

/** The server registration's request and response schemas (see schemas.ts for the rest). */

export const ServerBody = ServerInputSchema.superRefine((body, ctx) => {
  for (const message of endpointProblems(body.url, requestEgressPolicy())) {
    ctx.addIssue({ code: "custom", path: ["url"], message });
  }
  const expression = body.filters.expression;
  const problem = expression === undefined ? undefined : expressionProblem(expression);
  if (problem) ctx.addIssue({ code: "custom", path: ["filters", "expression"], message: problem });
}).meta({
  id: "ServerInput",
  description:
    "A server that receives events. `url` must be http(s), without a user name or password, and not an address " +
    "the egress policy denies (MCIC_EGRESS_DENY, MCIC_EGRESS_ALLOW). An empty or absent `filters` means every event; " +
    "each filter given must match. `headers` are sent with every delivery (their values are never shown). " +
    '`secret` ("whsec_" + base64 of 24 to 64 bytes) signs deliveries as Standard Webhooks; generated when absent ' +
    "and then returned once, in the create response; kept on PUT when absent. `snapshot: true` delivers the " +
    "current state of every matching object at registration. `filters.changedPaths` lets a MODIFIED through only " +
    "when one of the named sections changed (`spec`, `status`, `data`, `metadata.labels`, …; " +
    "metadata.resourceVersion, managedFields and generation never count); a MODIFIED whose previous version is " +
    'unknown carries no changedPaths and is delivered. `payload: "metadata"` sends objects reduced to ' +
    "apiVersion, kind and metadata; `metadata.managedFields` is left out unless `includeManagedFields`. " +
    "Filters: `excludeNamespaces` drops events of those namespaces (cluster-scoped objects are never excluded); " +
    "`names` are globs on metadata.name (`*` any run, `?` one character, anchored); `expression` is CEL over " +
    '`event` (the envelope without `object`: type, cluster, group, version, resource, kind, namespace ("" when ' +
    "cluster-scoped), name, uid, resourceVersion, observedAt, snapshot, labels, changedPaths) and `object`, " +
    "checked at registration (a syntax or type error is a 400 with its line and column) and evaluated with a " +
    "cost limit; an evaluation error (such as a missing field not guarded with has()) means no match. Unknown fields are refused.",
});

export const SERVER_EXAMPLES = {
  minimal: { summary: "everything, generated secret", value: { name: "lb-1", url: "http://10.0.0.9:8080/events" } },
  changes: {
    summary: "ingress spec and annotation changes only, objects as metadata",
    value: {
      name: "lb-3",
      url: "https://lb.example.com/hooks/mcic",
      filters: { resources: ["ingresses"], changedPaths: ["spec", "metadata.annotations"] },
      payload: "metadata",
      includeManagedFields: false,
    },
  },
  filtered: {
    summary: "ingress changes of one namespace, with a header",
    value: {
      name: "lb-2",
      url: "https://lb.example.com/hooks/mcic",
      filters: {
        clusters: ["prod"],
        resources: ["ingresses"],
        namespaces: ["shop"],
        eventTypes: ["ADDED", "MODIFIED", "DELETED"],
        labelSelector: "app=web",
      },
      headers: { "X-Api-Key": "receiver-api-key" },
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      snapshot: true,
      retry: { maxAttempts: 20, maxAgeSeconds: 86400 },
    },
  },
  routed: {
    summary: "CEL on the host names, namespaces excluded, name globs",
    value: {
      name: "shop-lb",
      url: "https://lb.example.com/hooks/shop",
      filters: {
        resources: ["ingresses"],
        excludeNamespaces: ["kube-system", "staging"],
        names: ["web-*", "api-?"],
        expression: 'has(object.spec.rules) && object.spec.rules.exists(r, r.host.endsWith(".shop.example"))',
      },
    },
  },
};

export const SnapshotStatusViewSchema = z
  .object({
    requestId: z.string().meta({ description: "the snapshot's id, also `requestId` of its events" }),
    requestedAt: isoTime,
    clusters: z.array(
      z
        .object({
          cluster: z.string(),
          state: z.enum(SNAPSHOT_STATES).meta({
            description:
              "`taken`: its objects and completed events are queued for the server; `failed`: see `reason`; " +
              "`pending`: its watcher is still listing",
          }),
          reason: z.string().optional().meta({
            description: "why it failed, in a few fixed words",
            example: "cluster unreachable: connection refused",
          }),
          objects: z.number().int().optional().meta({ description: "`taken`: snapshot ADDED events queued" }),
          at: isoTime,
        })
        .meta({ id: "SnapshotClusterOutcome" }),
    ),
  })
  .meta({
    id: "SnapshotStatus",
    description:
      "A snapshot (registration with `snapshot: true`, or resync) and how each cluster the server's filters " +
      "allow went. A cluster no watcher answered for is `failed` with reason `" +
      "no watcher owns it (not watched right now)`.",
  });

/** The notice type of a server a dispatcher disabled (HTTP 410, or failing for `disableAfterSeconds`). */
export const SERVER_DISABLED_NOTICE = "dev.mcic.server.disabled";

export const ServerStatusSchema = z
  .object({
    state: z.enum(["active", "disabled"]),
    reason: z
      .string()
      .optional()
      .meta({
        description:
          "why it is disabled: configuration, HTTP 410, or `failing since <time>: <last error>` once it failed " +
          "without a success for `disableAfterSeconds`",
      }),
    disabledAt: isoTime.optional().meta({ description: "when a dispatcher disabled it" }),
    failingSince: isoTime
      .optional()
      .meta({ description: "first failed attempt since the last success; the failure window runs from it" }),
    notices: z
      .array(
        z.object({
          type: z.literal(SERVER_DISABLED_NOTICE),
          at: isoTime,
          reason: z.string(),
        }),
      )
      .optional()
      .meta({ description: "what happened to the server that needs a user: re-enable it with PATCH {enabled: true}" }),
    lastSuccessAt: isoTime.optional(),
    lastFailureAt: isoTime.optional(),
    pending: z.number().int().optional().meta({ description: "deliveries waiting in the durable queue" }),
    deadLetters: z.number().int(),
    snapshot: SnapshotStatusViewSchema.optional().meta({ description: "the latest snapshot, when one was requested" }),
  })
  .meta({ id: "ServerStatus" });
export type ServerStatusView = z.infer<typeof ServerStatusSchema>;

export const ServerViewSchema = z
  .object({
    name: z.string().meta({ example: "lb-1" }),
    url: z.string().meta({ example: "http://10.0.0.9:8080/events" }),
    filters: ServerFiltersSchema,
    headers: z
      .record(z.string(), z.literal("[redacted]"))
      .meta({ description: "header names only", example: { "X-Api-Key": "[redacted]" } }),
    includeSecretData: z.boolean(),
    snapshot: z.boolean(),
    enabled: z.boolean(),
    payload: z.enum(["full", "metadata"]),
    includeManagedFields: z.boolean(),
    rateLimit: RateLimitSchema.optional(),
    disableAfterSeconds: z.number().int(),
    retry: z.object({ maxAttempts: z.number().int().optional(), maxAgeSeconds: z.number().int().optional() }),
    createdAt: isoTime,
    updatedAt: isoTime,
    secret: z
      .string()
      .optional()
      .meta({ description: "only in the response that generated it: keep it to verify signatures" }),
    status: ServerStatusSchema.optional().meta({ description: "only on GET /servers/{name}" }),
  })
  .meta({ id: "Server" });
export type ServerView = z.infer<typeof ServerViewSchema>;
