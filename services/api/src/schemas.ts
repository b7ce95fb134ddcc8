import {
  ClusterInputSchema,
  RateLimitSchema,
  ResourceStatusSchema,
  ServerFiltersSchema,
  SNAPSHOT_STATES,
  ServerInputSchema,
  checkCertificatesPem,
  dnsLabel,
} from "@mcic/core";
import { z } from "zod";
import { requestEgressPolicy } from "./egress-scope.js";
import { credentialsInClear, endpointProblems } from "./endpoint-checks.js";

/**
 * Every schema the API validates with and documents. Request bodies are the core schemas
 * themselves (`.meta()` only attaches an OpenAPI name and description to a clone: validation is
 * unchanged), so what /openapi.json describes is what the routes accept. Response schemas are the
 * source of the view types the routes return. The seed route's schemas live beside it, in
 * seed-schemas.ts.
 */

// ---- shared pieces ----------------------------------------------------------------------------

export const ProblemSchema = z
  .object({
    type: z.string().meta({ description: "stable URN per error kind", example: "urn:mcic:problem:validation_failed" }),
    title: z.string().meta({ example: "Bad Request" }),
    status: z.number().int().meta({ example: 400 }),
    detail: z.string().meta({ example: "request body is invalid" }),
    errors: z
      .array(
        z.object({
          path: z.string().meta({ description: 'dotted field path, "(body)" for the body as a whole' }),
          message: z.string(),
        }),
      )
      .optional()
      .meta({ description: "one entry per offending field" }),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details (`application/problem+json`)." });
export type Problem = z.infer<typeof ProblemSchema>;

export const isoTime = z.string().meta({ description: "ISO 8601 time", example: "2026-11-26T12:00:00.000Z" });

export const NameParams = (what: "cluster" | "server") =>
  z.object({
    name: dnsLabel.meta({
      description: `${what} name (DNS-1123 label)`,
      example: what === "cluster" ? "prod" : "lb-1",
    }),
  });

// ---- clusters ---------------------------------------------------------------------------------

/** A self-signed example CA (base64 PEM): the examples must register as they are in "Try it out". */
const EXAMPLE_CA_DATA =
  "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJoVENDQVN1Z0F3SUJBZ0lVV1krWjFLNjczYnMyb3hvSlg1a05Gcm5xMzgwd0NnWUlLb1pJemowRUF3SXcKRnpFVk1CTUdBMVVFQXd3TWJXTnBZeTEwWlhOMExXTmhNQ0FYRFRJMk1USXdNakF5TVRnd04xb1lEekl4TWpZeApNVEE0TURJeE9EQTNXakFYTVJVd0V3WURWUVFEREF4dFkybGpMWFJsYzNRdFkyRXdXVEFUQmdjcWhrak9QUUlCCkJnZ3Foa2pPUFFNQkJ3TkNBQVJMbWNtME02QTBwUnVuRk82eVRJS2tVdkVlc3lNUUMrS1pCRmVKWFN5QkRQRW8KR1NpTW4rY1RGYlUydW0zMnZBc3htbDRtbmFqSGo3ZlRBbHdpYlFrdW8xTXdVVEFkQmdOVkhRNEVGZ1FVYlEzdApTeDQyWmh4cHpmVkJTOUpjQS9HelhwUXdId1lEVlIwakJCZ3dGb0FVYlEzdFN4NDJaaHhwemZWQlM5SmNBL0d6ClhwUXdEd1lEVlIwVEFRSC9CQVV3QXdFQi96QUtCZ2dxaGtqT1BRUURBZ05JQURCRkFpQlczVGQ5ZUhaeVlWazUKUHRrYjRJTTlEV1B0enVBU1pRbUFpLzFlT2xLNFZnSWhBTkM0WXcyR1hEbERLeXluRmV6NU1JbzM1MjZXOUZyZQphM21nZWNuMWIvVlkKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";

export const ClusterBody = ClusterInputSchema.superRefine((body, ctx) => {
  if (body.server !== undefined) {
    for (const message of endpointProblems(body.server, requestEgressPolicy())) {
      ctx.addIssue({ code: "custom", path: ["server"], message });
    }
    const inClear = credentialsInClear(body.server, body.token !== undefined ? "a token" : undefined);
    if (inClear) ctx.addIssue({ code: "custom", path: ["server"], message: inClear });
  }
  if (body.caData !== undefined) {
    try {
      checkCertificatesPem(Buffer.from(body.caData, "base64").toString("utf8"), "caData");
    } catch (err) {
      ctx.addIssue({ code: "custom", path: ["caData"], message: (err as Error).message });
    }
  }
}).meta({
  id: "ClusterInput",
  description:
    "A cluster to watch. Give exactly one of `kubeconfig` (YAML text; `context` picks a context other than " +
    "the current one; token, client certificate and CA data must be embedded; exec and auth-provider plugins " +
    "are refused) or `server` (http(s) URL of the API server, https when a `token` is given, with `token`, " +
    "`caData` (base64 of PEM certificates) and " +
    "`insecureSkipTLSVerify`). `resources` are plural names (`ingresses`, `services`, ...) or " +
    "`group/version/resource` for any API including CRDs; stored in canonical `group/version/resource` form. " +
    "`namespaces` limits the watch (default all). Unknown fields are refused.",
});

export const CLUSTER_EXAMPLES = {
  kubeconfig: {
    summary: "from a kubeconfig",
    value: {
      name: "prod",
      kubeconfig:
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\ncontexts:\n- name: prod\n  context: {cluster: prod, user: mcic}\n" +
        `clusters:\n- name: prod\n  cluster: {server: 'https://10.0.0.5:6443', certificate-authority-data: ${EXAMPLE_CA_DATA}}\n` +
        "users:\n- name: mcic\n  user: {token: 'service-account-token'}\n",
      resources: ["ingresses", "services"],
    },
  },
  server: {
    summary: "by API server URL and token",
    value: {
      name: "lab",
      server: "https://10.0.0.5:6443",
      token: "service-account-token",
      caData: EXAMPLE_CA_DATA,
      namespaces: ["shop", "blog"],
      labelSelector: "app in (web,api)",
    },
  },
};

export const ClusterViewSchema = z
  .object({
    name: z.string().meta({ example: "prod" }),
    resources: z.array(z.string()).meta({ example: ["networking.k8s.io/v1/ingresses"] }),
    namespaces: z.array(z.string()).optional(),
    labelSelector: z.string().optional(),
    source: z.enum(["kubeconfig", "server"]).meta({ description: "which input form registered it" }),
    context: z.string().optional(),
    credentials: z.literal("stored").meta({ description: "credentials are never shown" }),
    createdAt: isoTime,
    updatedAt: isoTime,
    status: z
      .object({ resources: z.array(ResourceStatusSchema.meta({ id: "ResourceStatus" })) })
      .optional()
      .meta({ description: "only on GET /clusters/{name}: the watch state of each resource" }),
  })
  .meta({ id: "Cluster" });
export type ClusterView = z.infer<typeof ClusterViewSchema>;

// ---- servers ----------------------------------------------------------------------------------

export const ServerBody = ServerInputSchema.superRefine((body, ctx) => {
  for (const message of endpointProblems(body.url, requestEgressPolicy())) {
    ctx.addIssue({ code: "custom", path: ["url"], message });
  }
}).meta({
  id: "ServerInput",
  description:
    "A server that receives events. `url` must be http(s), without a user name or password, and not an address " +
    "the egress policy denies (MCIC_EGRESS_DENY, MCIC_EGRESS_ALLOW). An empty or absent `filters` means every event; " +
    "each filter given must match. `headers` are sent with every delivery (their values are never shown). " +
    '`secret` ("whsec_" + base64 of 24 to 64 bytes) signs deliveries as Standard Webhooks; generated when absent ' +
    "and then returned once, in the create response; kept on PUT when absent. `snapshot: true` delivers the " +
    "current state of every matching object at registration. Unknown fields are refused.",
});

export const SERVER_EXAMPLES = {
  minimal: { summary: "everything, generated secret", value: { name: "lb-1", url: "http://10.0.0.9:8080/events" } },
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

export const ServerStatusSchema = z
  .object({
    state: z.enum(["active", "disabled"]),
    reason: z.string().optional().meta({ description: "why it is disabled (configuration, or HTTP 410)" }),
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

export const EmptyBody = z.strictObject({}).meta({ id: "Empty" });

// ---- operations -------------------------------------------------------------------------------

export const HealthSchema = z.object({ status: z.string() }).meta({ id: "Health" });
