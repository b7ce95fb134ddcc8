import { EVENT_TYPES, type ServerFilters, ServerFiltersSchema, ValidationError, fieldErrors } from "@mcic/core";
import { z } from "zod";

const commaList = (what: string, example: string) =>
  z
    .string()
    .max(64 * 1024)
    .optional()
    .meta({ description: `comma-separated ${what}`, example });

/**
 * Query of GET /events/stream: a server's filters, one parameter each, lists comma-separated.
 * Parsed here as text and then through the server filter schema itself, so a stream accepts
 * exactly what a registration would (`expression` and `changedPaths` are not offered: a tail shows
 * every change of what it selects).
 */
export const StreamQuery = z.strictObject({
  cluster: commaList("cluster names", "prod,lab"),
  resource: commaList("resources (plural or group/version/resource)", "ingresses"),
  namespace: commaList("namespaces", "shop"),
  excludeNamespaces: commaList("namespaces to leave out", "kube-system"),
  names: commaList("object name globs (* and ?)", "web-*"),
  eventType: commaList(`event types (${EVENT_TYPES.join(", ")})`, "ADDED,DELETED"),
  labelSelector: z
    .string()
    .max(4096)
    .optional()
    .meta({ description: "a Kubernetes label selector", example: "app=web" }),
});
export type StreamQueryInput = z.infer<typeof StreamQuery>;

/** Query parameter → the server filter it sets. */
const FILTER_OF = {
  cluster: "clusters",
  resource: "resources",
  namespace: "namespaces",
  excludeNamespaces: "excludeNamespaces",
  names: "names",
  eventType: "eventTypes",
} as const;

const split = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

/** The stream's query as server filters; a bad value is a 400 naming the query parameter. */
export function streamFilters(query: StreamQueryInput): ServerFilters {
  const raw: Record<string, unknown> = {};
  for (const [param, filter] of Object.entries(FILTER_OF)) {
    const value = query[param as keyof typeof FILTER_OF];
    if (value !== undefined) raw[filter] = split(value);
  }
  if (query.labelSelector !== undefined) raw.labelSelector = query.labelSelector;
  const result = ServerFiltersSchema.safeParse(raw);
  if (result.success) return result.data;
  const paramOf = Object.fromEntries(Object.entries(FILTER_OF).map(([p, f]) => [f, p]));
  const errors = fieldErrors(result.error).map((e) => {
    const [head, ...rest] = e.path.split(".");
    return { path: [paramOf[head ?? ""] ?? head, ...rest].join("."), message: e.message };
  });
  throw new ValidationError("query parameters are invalid", errors);
}

export const StatsSchema = z
  .object({
    windowSeconds: z
      .number()
      .int()
      .meta({ description: "the rates are over this many seconds (a minute)", example: 60 }),
    clusters: z.array(
      z.object({
        name: z.string().meta({ example: "prod" }),
        events: z.number().int().meta({ description: "events seen in the window" }),
        eventsPerSecond: z.number().meta({ example: 2.5 }),
      }),
    ),
    servers: z.array(
      z.object({
        name: z.string().meta({ example: "lb-1" }),
        delivered: z.number().int().meta({ description: "successful delivery attempts in the window" }),
        failed: z.number().int().meta({ description: "failed attempts in the window (retried or dead-lettered)" }),
        deliveriesPerSecond: z.number().meta({ description: "successful deliveries per second", example: 2.5 }),
        successRate: z
          .number()
          .nullable()
          .meta({ description: "delivered / (delivered + failed); null without attempts", example: 1 }),
      }),
    ),
  })
  .meta({ id: "Stats" });
export type Stats = z.infer<typeof StatsSchema>;
