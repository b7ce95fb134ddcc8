import { z } from "zod";
import { EVENT_TYPES } from "./envelope.js";
import { parseLabelSelector } from "./label-selector.js";
import { formatResource, parseResource } from "./resource.js";
import { isWebhookSecret } from "./webhook.js";

/** DNS-1123 label: what Kubernetes accepts for namespaces, and what mcic accepts for names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dnsLabel = z
  .string()
  .max(63, "at most 63 characters")
  .regex(DNS_LABEL, "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending alphanumeric");

const httpUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}, "must be an absolute http:// or https:// URL");

const labelSelector = z
  .string()
  .max(4096)
  .refine(
    (text) => {
      try {
        parseLabelSelector(text);
        return true;
      } catch {
        return false;
      }
    },
    { message: "is not a valid label selector (e.g. app=web,tier in (front,back))" },
  );

/** A resource as written in a cluster registration, normalized to `group/version/resource`. */
const resourceSpec = z.string().transform((text, ctx) => {
  try {
    return formatResource(parseResource(text));
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

const base64 = z.string().regex(/^[A-Za-z0-9+/\s]+={0,2}$/, "must be base64");

/** Body of POST/PUT /clusters (docs/contract.md "REST API"). */
export const ClusterInputSchema = z
  .strictObject({
    name: dnsLabel,
    kubeconfig: z
      .string()
      .min(1)
      .max(512 * 1024)
      .optional(),
    context: z.string().min(1).optional(),
    server: httpUrl.optional(),
    token: z.string().min(1).optional(),
    caData: base64.optional(),
    insecureSkipTLSVerify: z.boolean().optional(),
    resources: z.array(resourceSpec).min(1).max(64).default(["networking.k8s.io/v1/ingresses"]),
    namespaces: z.array(dnsLabel).max(1000).optional(),
    labelSelector: labelSelector.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.kubeconfig === undefined && body.server === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["kubeconfig"],
        message: "exactly one of kubeconfig or server is required",
      });
    }
    if (body.kubeconfig !== undefined && body.server !== undefined) {
      ctx.addIssue({ code: "custom", path: ["server"], message: "give either kubeconfig or server, not both" });
    }
    if (body.kubeconfig !== undefined) {
      for (const field of ["token", "caData", "insecureSkipTLSVerify"] as const) {
        if (body[field] !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: [field],
            message: "only allowed with server; put it in the kubeconfig",
          });
        }
      }
    }
    if (body.context !== undefined && body.kubeconfig === undefined) {
      ctx.addIssue({ code: "custom", path: ["context"], message: "only allowed with kubeconfig" });
    }
  });
export type ClusterInput = z.output<typeof ClusterInputSchema>;

/** How a watcher reaches a cluster; stored sealed, never returned by the API. */
export const ConnectionSchema = z.object({
  server: z.string(),
  token: z.string().optional(),
  caData: z.string().optional(),
  certData: z.string().optional(),
  keyData: z.string().optional(),
  insecureSkipTLSVerify: z.boolean().optional(),
  tlsServerName: z.string().optional(),
});
export type Connection = z.infer<typeof ConnectionSchema>;

/** A cluster as kept in Redis. */
export const StoredClusterSchema = z.object({
  name: z.string(),
  resources: z.array(z.string()),
  namespaces: z.array(z.string()).optional(),
  labelSelector: z.string().optional(),
  /** Which input form the user gave, so GET can say so without revealing it. */
  source: z.enum(["kubeconfig", "server"]),
  context: z.string().optional(),
  /** SecretBox-sealed JSON of a Connection. */
  credentials: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type StoredCluster = z.infer<typeof StoredClusterSchema>;

/** A glob over object names: `*` any run of characters, `?` one character. */
const namePattern = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^[A-Za-z0-9._:@*?-]+$/,
    "must be a name pattern: letters, digits, '-', '.', ':', '@' with * and ? as wildcards",
  );

/**
 * Metadata fields that are bookkeeping, not content: a change of these alone is not a change a
 * `changedPaths` filter can ask for.
 */
export const UNTRACKED_METADATA = ["resourceVersion", "managedFields", "generation"] as const;

/**
 * A section of an object whose change a MODIFIED event reports: a top-level field other than
 * apiVersion, kind and metadata (`spec`, `status`, `data`, `rules`, …) or `metadata.<field>`.
 */
const changedPath = z
  .string()
  .max(253)
  .regex(
    /^(?!(apiVersion|kind|metadata)$)[A-Za-z_$][A-Za-z0-9_$-]*$|^metadata\.[A-Za-z][A-Za-z0-9]*$/,
    "must be a top-level section such as spec, status or data, or metadata.<field> such as metadata.labels",
  )
  .refine(
    (path) => !UNTRACKED_METADATA.some((field) => path === `metadata.${field}`),
    "metadata.resourceVersion, metadata.managedFields and metadata.generation never count as a change",
  );

export const ServerFiltersSchema = z.strictObject({
  clusters: z.array(dnsLabel).max(1000).optional(),
  resources: z.array(z.string().min(1).max(253)).max(100).optional(),
  namespaces: z.array(dnsLabel).max(1000).optional(),
  eventTypes: z.array(z.enum(EVENT_TYPES)).max(3).optional(),
  labelSelector: labelSelector.optional(),
  excludeNamespaces: z.array(dnsLabel).max(1000).optional(),
  names: z.array(namePattern).max(1000).optional(),
  expression: z.string().min(1).max(4096).optional(),
  changedPaths: z.array(changedPath).min(1).max(64).optional(),
});
export type ServerFilters = z.infer<typeof ServerFiltersSchema>;

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RESERVED_HEADERS = new Set([
  "content-type",
  "content-length",
  "host",
  "transfer-encoding",
  "connection",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
]);

/** Names JavaScript objects give meaning to; a header map keyed by one would lose or misread it. */
const OBJECT_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * zod drops a `__proto__` key of a record without an issue (JSON.parse makes it an own property),
 * so the raw object is checked first: an odd header name is refused, never silently lost.
 */
const noObjectKeys = (value: unknown, ctx: z.RefinementCtx) => {
  if (value === null || typeof value !== "object") return value;
  for (const key of Object.keys(value)) {
    if (OBJECT_KEYS.has(key)) ctx.addIssue({ code: "custom", path: [key], message: "is not allowed as a header name" });
  }
  return value;
};

/** Five days: how long a server may fail without a single success before it is disabled. */
export const DEFAULT_DISABLE_AFTER_SECONDS = 432_000;

/** Deliveries above the rate wait their turn; none is dropped. */
export const RateLimitSchema = z.strictObject({
  perSecond: z.number().positive().max(100_000),
  burst: z.number().int().min(1).max(100_000).optional(),
});
export type RateLimit = z.infer<typeof RateLimitSchema>;

/** Body of POST/PUT /servers (docs/contract.md "REST API"). */
export const ServerInputSchema = z.strictObject({
  name: dnsLabel,
  url: httpUrl,
  filters: ServerFiltersSchema.default({}),
  headers: z
    .preprocess(
      noObjectKeys,
      z.record(
        z
          .string()
          .regex(headerName, "is not a valid HTTP header name")
          .refine((h) => !RESERVED_HEADERS.has(h.toLowerCase()), "is set by mcic and cannot be overridden"),
        z
          .string()
          .max(8192)
          .regex(/^[^\r\n]*$/, "must not contain line breaks")
          // What undici can send: visible Latin-1 text, spaces and tabs; no control characters.
          .regex(/^[\t\r\n\x20-\x7e\x80-\xff]*$/, "must be printable Latin-1 text without control characters"),
      ),
    )
    .default({}),
  secret: z.string().refine(isWebhookSecret, 'must be "whsec_" followed by 24 to 64 bytes in base64').optional(),
  includeSecretData: z.boolean().default(false),
  snapshot: z.boolean().default(true),
  enabled: z.boolean().default(true),
  payload: z.enum(["full", "metadata"]).default("full"),
  includeManagedFields: z.boolean().default(false),
  rateLimit: RateLimitSchema.optional(),
  disableAfterSeconds: z
    .number()
    .int()
    .min(60)
    .max(365 * 24 * 3600)
    .default(DEFAULT_DISABLE_AFTER_SECONDS),
  retry: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(1000).optional(),
      maxAgeSeconds: z
        .number()
        .int()
        .min(1)
        .max(30 * 24 * 3600)
        .optional(),
    })
    .default({}),
});
export type ServerInput = z.output<typeof ServerInputSchema>;

/** A server as kept in Redis. The secret is sealed. */
export const StoredServerSchema = z.object({
  name: z.string(),
  url: z.string(),
  filters: ServerFiltersSchema,
  /** Sealed JSON of the headers: they often carry API keys. */
  headers: z.string(),
  secret: z.string(),
  /**
   * The secret a rotation replaced, sealed under its own context: deliveries carry its signature
   * too until `previousExpiresAt`, so receivers can switch secrets without missing an event.
   */
  previousSecret: z.string().optional(),
  previousExpiresAt: z.iso.datetime().optional(),
  includeSecretData: z.boolean(),
  snapshot: z.boolean(),
  enabled: z.boolean(),
  // Records written before these fields existed read as their defaults.
  payload: z.enum(["full", "metadata"]).default("full"),
  includeManagedFields: z.boolean().default(false),
  rateLimit: RateLimitSchema.optional(),
  disableAfterSeconds: z.number().int().default(DEFAULT_DISABLE_AFTER_SECONDS),
  retry: z.object({ maxAttempts: z.number().optional(), maxAgeSeconds: z.number().optional() }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type StoredServer = z.infer<typeof StoredServerSchema>;

/** Status of one watched resource, written by the owning watcher. */
export const ResourceStatusSchema = z.object({
  resource: z.string(),
  state: z.enum(["pending", "syncing", "watching", "error"]),
  message: z.string().optional(),
  resourceVersion: z.string().optional(),
  lastEventAt: z.string().optional(),
  watcherId: z.string().optional(),
});
export type ResourceStatus = z.infer<typeof ResourceStatusSchema>;
