import { z } from "zod";
import { CorruptDataError } from "./errors.js";
import type { StoredServer } from "./models.js";

/**
 * Field names of a server's status hash (`serverStatus(name)`). Dispatchers write most of them, the
 * API and watchers move `pending` and `deadLetters`, and Lua scripts name them too: one spelling.
 */
export const SERVER_STATUS_FIELDS = {
  /**
   * Why a dispatcher stopped delivering (HTTP 410, or failing for `disableAfterSeconds`); cleared
   * when the registration is replaced or patched with `enabled: true`.
   */
  disabledReason: "disabledReason",
  /** When a dispatcher disabled it; cleared with the reason. */
  disabledAt: "disabledAt",
  /** The first failed attempt since the last success (ISO); the failure window runs from it. */
  failingSince: "failingSince",
  /** Deliveries waiting in the durable queue (retries, snapshots, replays). */
  pending: "pending",
  /** Dead letters kept for the server. */
  deadLetters: "deadLetters",
  lastSuccessAt: "lastSuccessAt",
  lastFailureAt: "lastFailureAt",
} as const;
export type ServerStatusField = keyof typeof SERVER_STATUS_FIELDS;

/** The reason shown for a server registered with `enabled: false`. */
export const DISABLED_BY_CONFIGURATION = "disabled by configuration";

// Counters are moved with HINCRBY, so they are integer strings (`pending` may dip below zero for a
// moment when a consumer acks before the matching increment lands).
const counter = z
  .string()
  .regex(/^-?\d+$/, "is not an integer")
  .transform(Number);

/** The status hash as HGETALL returns it; absent fields were never written. */
export const ServerStatusHashSchema = z.object({
  // An empty reason disables nothing, as it always has; it reads as no reason at all.
  disabledReason: z
    .string()
    .transform((r) => r || undefined)
    .optional(),
  pending: counter.optional(),
  deadLetters: counter.optional(),
  disabledAt: z.string().optional(),
  failingSince: z.string().optional(),
  lastSuccessAt: z.string().optional(),
  lastFailureAt: z.string().optional(),
});

/** What a re-enabled server starts without: a dispatcher's disabling and the failure window. */
export const ENABLE_CLEARS: readonly string[] = [
  SERVER_STATUS_FIELDS.disabledReason,
  SERVER_STATUS_FIELDS.disabledAt,
  SERVER_STATUS_FIELDS.failingSince,
];
export type ServerStatus = z.output<typeof ServerStatusHashSchema>;

/** Parses the raw hash read at `key`; a field that does not fit is a CorruptDataError. */
export function parseServerStatus(key: string, hash: Record<string, string>): ServerStatus {
  const result = ServerStatusHashSchema.safeParse(hash);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new CorruptDataError(key, issue ? `${issue.path.map(String).join(".")} ${issue.message}` : "schema mismatch");
}

/** Why a server is not receiving events, or undefined when it is. A dispatcher's reason wins. */
export function inactiveReason(
  server: Pick<StoredServer, "enabled">,
  status: Pick<ServerStatus, "disabledReason">,
): string | undefined {
  return status.disabledReason || (server.enabled ? undefined : DISABLED_BY_CONFIGURATION);
}

/** Receiving events now: enabled by its registration and not disabled by a dispatcher since. */
export function isActive(server: Pick<StoredServer, "enabled">, status: Pick<ServerStatus, "disabledReason">): boolean {
  return inactiveReason(server, status) === undefined;
}
