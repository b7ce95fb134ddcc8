import { type EventType, EVENT_TYPES, ServerInputSchema, dnsLabel } from "@mcic/core";
import { z } from "zod";

/**
 * The seed route's bodies and views (the Go prototype's field names), beside the routes in
 * routes/seed-compat.ts rather than among the /api/v1 schemas; see docs/seed-compat.md.
 */

/** WatchEvents words of the prototype, and what each becomes. */
export const SEED_EVENT_WORDS = {
  ADD: "ADDED",
  ADDED: "ADDED",
  UPDATE: "MODIFIED",
  MODIFIED: "MODIFIED",
  DELETE: "DELETED",
  DELETED: "DELETED",
} as const satisfies Record<string, EventType>;
const seedEventWords = Object.keys(SEED_EVENT_WORDS) as [keyof typeof SEED_EVENT_WORDS, ...string[]];

const httpUrl = ServerInputSchema.shape.url;
/** Longest "-<i>" suffix a seed server name needs, so `<ClusterName>-<i>` stays a DNS label. */
export const SEED_MAX_SERVERS = 100;

export const SeedBody = z
  .strictObject({
    ClusterName: dnsLabel.meta({ description: "the cluster's name", example: "prod" }),
    KubeURL: httpUrl.meta({ description: "API server URL", example: "https://10.0.0.5:6443" }),
    KubeServAcctToken: z.string().min(1).optional().meta({ description: "service account bearer token" }),
    Namespaces: z
      .union([z.string().max(64 * 1024), z.array(dnsLabel).max(1000)], {
        // Element errors of a list keep their own path and message; anything else gets this one.
        error: (issue) =>
          issue.code === "invalid_union" ? "must be a list of namespaces, or one comma-separated string" : undefined,
      })
      .optional()
      .meta({ description: 'namespaces to watch: a list, or one comma-separated string; "" or absent = all' }),
    ServerURL: z
      .array(httpUrl)
      .min(1)
      .max(SEED_MAX_SERVERS)
      .meta({ description: "one server `<ClusterName>-<i>` is registered per URL (i from 0)" }),
    WatchEvents: z
      .array(z.enum(seedEventWords))
      .max(6)
      .optional()
      .meta({ description: "ADD|ADDED, UPDATE|MODIFIED, DELETE|DELETED; absent or empty = all" }),
  })
  .superRefine((body, ctx) => {
    if (typeof body.Namespaces === "string") {
      namespaceList(body.Namespaces).forEach((ns, i) => {
        if (!dnsLabel.safeParse(ns).success) {
          ctx.addIssue({ code: "custom", path: ["Namespaces", i], message: `"${ns}" is not a DNS-1123 label` });
        }
      });
    }
    const longest = `${body.ClusterName}-${body.ServerURL.length - 1}`;
    if (longest.length > 63) {
      ctx.addIssue({
        code: "custom",
        path: ["ClusterName"],
        message: `too long: server names "<ClusterName>-<i>" such as "${longest}" must stay within 63 characters`,
      });
    }
  })
  .meta({
    id: "SeedController",
    description:
      "The Go prototype's registration: one cluster (API server URL and token, ingresses) plus one server per " +
      "ServerURL, named `<ClusterName>-<i>`, filtered to that cluster and the WatchEvents. See docs/seed-compat.md.",
  });
export type SeedInput = z.output<typeof SeedBody>;

export function namespaceList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

export const SEED_EXAMPLES = {
  prototype: {
    summary: "a cluster and two servers",
    value: {
      ClusterName: "cluster-a",
      KubeURL: "https://10.0.0.5:6443",
      KubeServAcctToken: "service-account-token",
      Namespaces: ["default", "shop"],
      ServerURL: ["http://22.22.22.22/events", "http://127.0.0.1:9000/"],
      WatchEvents: ["ADD", "UPDATE", "DELETE"],
    },
  },
};

export const SeedQuery = z.strictObject({
  ClusterName: dnsLabel.optional().meta({ description: "one cluster's mapping" }),
});
export const SeedDeleteBody = z
  .strictObject({ ClusterName: dnsLabel.optional().meta({ example: "cluster-a" }) })
  .meta({ id: "SeedDelete", description: "The cluster whose mapping to remove (or give ?ClusterName=)." });

export const SeedViewSchema = z
  .object({
    ClusterName: z.string(),
    KubeURL: z.string(),
    Namespaces: z.array(z.string()),
    ServerURL: z.array(z.string()),
    WatchEvents: z.array(z.enum(EVENT_TYPES)),
    Servers: z
      .array(
        z.object({
          name: z.string(),
          url: z.string(),
          secret: z.string().optional().meta({ description: "only when this response generated it" }),
        }),
      )
      .meta({ description: "the servers registered for the mapping" }),
  })
  .meta({ id: "SeedMapping", description: "A cluster and its `<ClusterName>-<i>` servers, in the prototype's words." });
export type SeedView = z.infer<typeof SeedViewSchema>;
