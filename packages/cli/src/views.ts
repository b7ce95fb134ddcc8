import { z } from "zod";

// The shapes of the API answers the CLI reads. Defined here rather than imported from @mcic/core:
// core pulls NATS, Redis and pino in at import (seconds of start-up for every command). Objects are
// loose, so `-o json|yaml` prints what the API sent, fields the CLI does not know included.

const time = z.string();

export const ProblemSchema = z.looseObject({
  type: z.string().optional(),
  title: z.string().optional(),
  status: z.number().optional(),
  detail: z.string().optional(),
  errors: z.array(z.looseObject({ path: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;

export const ResourceStatusSchema = z.looseObject({
  resource: z.string(),
  state: z.string(),
  message: z.string().optional(),
  resourceVersion: z.string().optional(),
  lastEventAt: time.optional(),
  watcherId: z.string().optional(),
});
export type ResourceStatus = z.infer<typeof ResourceStatusSchema>;

export const ClusterSchema = z.looseObject({
  name: z.string(),
  resources: z.array(z.string()),
  namespaces: z.array(z.string()).optional(),
  labelSelector: z.string().optional(),
  source: z.string().optional(),
  context: z.string().optional(),
  createdAt: time.optional(),
  updatedAt: time.optional(),
  // GET /clusters/{name}: `resources` lists each resource; GET /clusters may carry a summary
  // (`state`, a count of resources, `lastEventAt`).
  status: z
    .looseObject({
      state: z.string().optional(),
      resources: z.union([z.array(ResourceStatusSchema), z.number()]).optional(),
      lastEventAt: time.optional(),
    })
    .optional(),
});
export type Cluster = z.infer<typeof ClusterSchema>;

export const ServerStatusSchema = z.looseObject({
  state: z.string(),
  reason: z.string().optional(),
  lastSuccessAt: time.optional(),
  lastFailureAt: time.optional(),
  pending: z.number().optional(),
  deadLetters: z.number().optional(),
});
export type ServerStatus = z.infer<typeof ServerStatusSchema>;

export const ServerSchema = z.looseObject({
  name: z.string(),
  url: z.string(),
  filters: z
    .looseObject({
      clusters: z.array(z.string()).optional(),
      resources: z.array(z.string()).optional(),
      namespaces: z.array(z.string()).optional(),
      eventTypes: z.array(z.string()).optional(),
      labelSelector: z.string().optional(),
      expression: z.string().optional(),
    })
    .optional(),
  enabled: z.boolean().optional(),
  snapshot: z.boolean().optional(),
  createdAt: time.optional(),
  secret: z.string().optional(),
  status: ServerStatusSchema.optional(),
});
export type Server = z.infer<typeof ServerSchema>;

export const DeliverySchema = z.looseObject({
  eventId: z.string(),
  attempt: z.number(),
  status: z.number(),
  outcome: z.string(),
  error: z.string().optional(),
  durationMs: z.number(),
  at: time,
});
export type Delivery = z.infer<typeof DeliverySchema>;

export const EnvelopeSchema = z.looseObject({
  id: z.string(),
  cluster: z.string(),
  group: z.string().optional(),
  resource: z.string(),
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string(),
  resourceVersion: z.string(),
  type: z.string(),
  observedAt: time.optional(),
  snapshot: z.boolean().optional(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

export const DeadLetterSchema = z.looseObject({
  id: z.string(),
  eventId: z.string(),
  status: z.number(),
  error: z.string().optional(),
  attempts: z.number(),
  at: time,
  envelope: EnvelopeSchema.optional(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

export const TestResultSchema = z.looseObject({
  ok: z.boolean(),
  status: z.number(),
  durationMs: z.number(),
  error: z.string().optional(),
});

/** POST /servers/{name}/resync: how each cluster's snapshot went (taken, failed or still pending). */
export const ResyncResultSchema = z.looseObject({
  requestId: z.string(),
  clusters: z.array(
    z.looseObject({
      cluster: z.string(),
      state: z.string(),
      reason: z.string().optional(),
      objects: z.number().optional(),
    }),
  ),
});

export const RotateResultSchema = z.looseObject({ secret: z.string(), previousExpiresAt: time });

export const ReplayResultSchema = z.looseObject({ replayed: z.number() });

/** GET /stats: recent rates. Every part optional: the CLI shows "-" for what is not there. */
export const StatsSchema = z.looseObject({
  windowSeconds: z.number().optional(),
  clusters: z.array(z.looseObject({ name: z.string(), eventsPerSecond: z.number().optional() })).optional(),
  servers: z
    .array(
      z.looseObject({
        name: z.string(),
        deliveriesPerSecond: z.number().optional(),
        successRate: z.number().nullable().optional(),
      }),
    )
    .optional(),
});
export type Stats = z.infer<typeof StatsSchema>;

/** Anything: routes whose answer is printed as it is (DELETE answers nothing). */
export const AnySchema = z.unknown();
