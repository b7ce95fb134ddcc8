import { ClusterInputSchema, EVENT_TYPES, ResourceStatusSchema, checkCertificatesPem, dnsLabel } from "@mcic/core";
import { z } from "zod";
import { requestEgressPolicy } from "./egress-scope.js";
import { credentialsInClear, endpointProblems } from "./endpoint-checks.js";

/**
 * Every schema the API validates with and documents. Request bodies are the core schemas
 * themselves (`.meta()` only attaches an OpenAPI name and description to a clone: validation is
 * unchanged), so what /openapi.json describes is what the routes accept. Response schemas are the
 * source of the view types the routes return. The servers' schemas live in server-schemas.ts, the
 * seed route's in seed-schemas.ts.
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
      .object({
        state: z.enum(["pending", "syncing", "watching", "error"]).meta({
          description: "the worst state of its resources (error, pending, syncing, watching, in that order)",
        }),
        lastEventAt: isoTime.optional().meta({ description: "the newest event of any of its resources" }),
        resources: z.array(ResourceStatusSchema.meta({ id: "ResourceStatus" })),
      })
      .optional()
      .meta({
        description: "on GET /clusters and GET /clusters/{name}: the watch state of the cluster and of each resource",
      }),
  })
  .meta({ id: "Cluster" });
export type ClusterView = z.infer<typeof ClusterViewSchema>;

export const EmptyBody = z.strictObject({}).meta({ id: "Empty" });

export const EventTypeSchema = z
  .object({
    type: z.string().meta({ description: "the CloudEvent `type`", example: "dev.mcic.ingresses.added" }),
    description: z.string().meta({ example: "ingresses added in a watched cluster" }),
    resource: z.string().optional().meta({ description: "changes only: plural resource name", example: "ingresses" }),
    group: z
      .string()
      .optional()
      .meta({ description: 'changes only: API group ("" for core)', example: "networking.k8s.io" }),
    version: z.string().optional().meta({ description: "changes only: API version", example: "v1" }),
    eventType: z
      .enum(EVENT_TYPES)
      .optional()
      .meta({ description: "changes only: the watch event type", example: "ADDED" }),
    clusters: z
      .array(z.string())
      .optional()
      .meta({ description: "changes only: clusters watching the resource", example: ["prod"] }),
  })
  .meta({ id: "EventType" });

// ---- operations -------------------------------------------------------------------------------

export const HealthSchema = z.object({ status: z.string() }).meta({ id: "Health" });
