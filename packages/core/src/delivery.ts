import { z } from "zod";
import { EnvelopeSchema } from "./envelope.js";

/**
 * Deliveries for one server, outside the shared event flow: retries, dead-letter replays and
 * snapshots. Stream `<PREFIX>_DELIVERIES`, subject `<prefix>.deliveries.<server>`, consumed by
 * every dispatcher through one shared durable consumer.
 */
export const DeliveryRequestSchema = z.object({
  server: z.string(),
  envelope: EnvelopeSchema,
  /** The attempt this message is for (1 for replays and snapshots). */
  attempt: z.number().int().min(1),
  /** When the first attempt was made (ISO time), for maxAgeSeconds. */
  firstAttemptAt: z.string(),
  /** Not to be tried before this time (ISO). */
  notBefore: z.string(),
  /** Why this message exists. */
  reason: z.enum(["retry", "replay", "snapshot", "overflow"]),
  /**
   * `notBefore` is the slot the server's rate limit gave this delivery: it is sent then without
   * asking the limit again (absent: the limit is asked when it comes due).
   */
  rateSlot: z.boolean().optional(),
});
export type DeliveryRequest = z.infer<typeof DeliveryRequestSchema>;

export function deliveriesStreamName(prefix: string): string {
  return `${prefix.toUpperCase().replaceAll("-", "_")}_DELIVERIES`;
}
export function deliverySubject(prefix: string, server: string): string {
  return `${prefix}.deliveries.${server}`;
}
/** Every server's deliveries: the stream's subject and its consumer's filter. */
export function deliveriesSubjectWildcard(prefix: string): string {
  return `${prefix}.deliveries.>`;
}

export const DELIVERY_OUTCOMES = [
  "delivered",
  "retrying",
  "dead-lettered",
  "disabled",
  "superseded",
  "dropped",
] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** One attempt, as listed by `GET /servers/{name}/deliveries` (newest first, capped per server). */
export const DeliveryRecordSchema = z.object({
  eventId: z.string(),
  attempt: z.number().int(),
  /** HTTP status, 0 when no answer came. */
  status: z.number().int(),
  outcome: z.enum(DELIVERY_OUTCOMES),
  error: z.string().optional(),
  durationMs: z.number(),
  at: z.string(),
});
export type DeliveryRecord = z.infer<typeof DeliveryRecordSchema>;

/** One dead-lettered event of a server, as listed and replayed through the API. */
export const DeadLetterSchema = z.object({
  /** Unique per dead letter (the same event can die twice). */
  id: z.string(),
  eventId: z.string(),
  status: z.number().int(),
  error: z.string().optional(),
  attempts: z.number().int(),
  at: z.string(),
  envelope: EnvelopeSchema,
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/** Published by the API on `<prefix>.snapshot.requests`; watchers answer for the clusters they own. */
export const SnapshotRequestSchema = z.object({
  requestId: z.string(),
  server: z.string(),
});
export type SnapshotRequest = z.infer<typeof SnapshotRequestSchema>;

export function snapshotRequestSubject(prefix: string): string {
  return `${prefix}.snapshot.requests`;
}

/** Each watcher's reply to a snapshot request: the clusters it is snapshotting. */
export const SnapshotReplySchema = z.object({
  watcherId: z.string(),
  clusters: z.array(z.string()),
});
export type SnapshotReply = z.infer<typeof SnapshotReplySchema>;

/** How many delivery records and dead letters are kept per server. */
export const DELIVERY_LOG_LIMIT = 1000;
export const DEAD_LETTER_LIMIT = 10_000;
