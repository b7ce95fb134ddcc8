import { DELIVERY_OUTCOMES, DeadLetterSchema, DeliveryRecordSchema, isWebhookSecret } from "@mcic/core";
import { z } from "zod";
import { isoTime } from "./schemas.js";
import { SnapshotStatusViewSchema } from "./server-schemas.js";

// Schemas of the routes that act on one server: its delivery log, dead letters and replay, the
// test ping, secret rotation and resync. Shared pieces and the records themselves are in schemas.ts.

/** The longest overlap a rotation may ask for: 30 days. */
export const MAX_GRACE_SECONDS = 30 * 24 * 3600;

export const RotateSecretBody = z
  .strictObject({
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_GRACE_SECONDS)
      .default(86_400)
      .meta({ description: "how long deliveries also carry the old secret's signature; 0 = no overlap" }),
    secret: z
      .string()
      .refine(isWebhookSecret, 'must be "whsec_" followed by 24 to 64 bytes in base64')
      .optional()
      .meta({ description: "the new secret; generated when absent" }),
  })
  .meta({
    id: "RotateSecretInput",
    description:
      "Replaces the server's signing secret. Until `previousExpiresAt` every delivery carries two signatures, " +
      "`webhook-signature: v1,<new> v1,<old>`, so receivers holding either secret verify it; after that only the " +
      "new one. Rotating again during an overlap drops the oldest secret at once. The body may be omitted.",
  });
export const ROTATE_SECRET_EXAMPLES = {
  generated: { summary: "generated secret, one day of overlap", value: {} },
  chosen: {
    summary: "chosen secret, one hour of overlap",
    value: { graceSeconds: 3600, secret: "whsec_Z2VuZXJhdGVkLXNlY3JldC1mb3ItZXhhbXBsZQ==" },
  },
  immediate: { summary: "no overlap: the old secret stops at once", value: { graceSeconds: 0 } },
};
export const RotateSecretResultSchema = z
  .object({
    secret: z
      .string()
      .meta({ description: "the new secret, shown only here", example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }),
    previousExpiresAt: isoTime.meta({ description: "when deliveries stop carrying the old secret's signature" }),
  })
  .meta({ id: "RotateSecretResult" });

// ---- deliveries, dead letters, replay, test, resync ----------------------------------------------

export const DeliveriesQuery = z.strictObject({
  outcome: z
    .enum(DELIVERY_OUTCOMES)
    .optional()
    .meta({ description: "only attempts with this outcome", example: "dead-lettered" }),
  limit: z.coerce.number().int().min(1).max(1000).default(100).meta({ description: "at most this many, newest first" }),
});

export const DeadLettersQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(100)
    .meta({ description: "at most this many, newest first (the total is in X-Total-Count)" }),
});

export const DeliveryRecordView = DeliveryRecordSchema.meta({
  id: "DeliveryRecord",
  description: "One delivery attempt. `status` is the HTTP status, 0 when no answer came.",
});
export const DeadLetterView = DeadLetterSchema.meta({
  id: "DeadLetter",
  description:
    "An event that could not be delivered; `envelope` is the event as published on NATS, as the server " +
    "would receive it: a Secret's values are REDACTED (and stay so even with `includeSecretData`: they are " +
    "sealed at rest and only opened to deliver), `sealedSecretValues` is never shown.",
});

export const ReplayBody = z
  .strictObject({
    ids: z
      .array(z.string().min(1).max(512))
      .max(10_000)
      .optional()
      .meta({ description: "dead-letter ids (the `id` field); absent or empty = all" }),
  })
  .meta({ id: "ReplayInput", description: "Which dead letters to replay. The body itself may be omitted: all." });
export const REPLAY_EXAMPLES = {
  all: { summary: "every dead letter", value: {} },
  some: { summary: "chosen dead letters", value: { ids: ["01JDV3F6Q2", "01JDV3F9ZK"] } },
};
export const ReplayResultSchema = z
  .object({ replayed: z.number().int().meta({ description: "dead letters queued for delivery again" }) })
  .meta({ id: "ReplayResult" });

export const TestResultSchema = z
  .object({
    ok: z.boolean().meta({ description: "the server answered 2xx" }),
    status: z.number().int().meta({ description: "HTTP status, 0 when no answer came" }),
    durationMs: z.number(),
    error: z.string().optional().meta({
      description: "when not ok, why: `HTTP <status>` or a short class such as `timeout`, `egress denied`",
      example: "connection refused",
    }),
  })
  .meta({ id: "TestResult", description: "Result of one signed `dev.mcic.ping` CloudEvent sent just now." });

export const ResyncResultSchema = SnapshotStatusViewSchema.clone().meta({
  id: "ResyncResult",
  description:
    "The snapshot and each cluster's outcome when the answer was made; the same record is `status.snapshot` " +
    "of `GET /servers/{name}`, where pending clusters turn taken or failed as their watchers finish.",
});

/** Bodies of routes that take none, or an empty object. */
