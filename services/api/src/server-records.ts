import {
  type SecretBox,
  type ServerInput,
  type ServerStatus,
  type SnapshotStatus,
  type StoredServer,
  generateWebhookSecret,
  inactiveReason,
  isActive,
  openServerHeaders,
  sealContext,
} from "@mcic/core";
import { SERVER_DISABLED_NOTICE, type ServerStatusView, type ServerView } from "./server-schemas.js";

/**
 * Validated input → stored record. On replace without a new secret the previous sealed secret is
 * kept, so updating a URL does not break every receiver's signature check; so is a rotation's
 * overlap. A replace naming a different secret ends the overlap: that secret alone signs, as it
 * did before rotations existed. Naming the current secret again (a client re-sending its whole
 * registration) changes nothing about the secrets.
 */
export function toStoredServer(
  input: ServerInput,
  box: SecretBox,
  now: Date,
  previous?: StoredServer,
): { stored: StoredServer; secret?: string } {
  const secret = input.secret ?? (previous ? undefined : generateWebhookSecret());
  const kept = previous && (secret === undefined || isCurrentSecret(previous, secret, box)) ? previous : undefined;
  const stored: StoredServer = {
    name: input.name,
    url: input.url,
    filters: input.filters,
    headers: box.seal(JSON.stringify(input.headers), sealContext.serverHeaders(input.name)),
    secret: kept ? kept.secret : box.seal(secret as string, sealContext.serverSecret(input.name)),
    includeSecretData: input.includeSecretData,
    snapshot: input.snapshot,
    enabled: input.enabled,
    payload: input.payload,
    includeManagedFields: input.includeManagedFields,
    disableAfterSeconds: input.disableAfterSeconds,
    retry: input.retry,
    createdAt: previous?.createdAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
  };
  if (input.rateLimit) stored.rateLimit = input.rateLimit;
  if (kept?.previousSecret !== undefined && kept.previousExpiresAt !== undefined) {
    stored.previousSecret = kept.previousSecret;
    stored.previousExpiresAt = kept.previousExpiresAt;
  }
  return secret !== undefined && input.secret === undefined ? { stored, secret } : { stored };
}

/** True when `secret` is the one the stored server signs with (false when it cannot be opened). */
function isCurrentSecret(server: StoredServer, secret: string, box: SecretBox): boolean {
  try {
    return box.open(server.secret, sealContext.serverSecret(server.name)) === secret;
  } catch {
    // Unreadable under this key: the given secret replaces it, as any new secret would.
    return false;
  }
}

/**
 * The registration as a PUT body would give it, for a merge patch to apply to: headers opened
 * (only the API sees them, never a response), no secret (absent keeps it).
 */
export function toServerDocument(s: StoredServer, box: SecretBox): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    name: s.name,
    url: s.url,
    filters: s.filters,
    headers: openServerHeaders(s, box),
    includeSecretData: s.includeSecretData,
    snapshot: s.snapshot,
    enabled: s.enabled,
    payload: s.payload,
    includeManagedFields: s.includeManagedFields,
    disableAfterSeconds: s.disableAfterSeconds,
    retry: s.retry,
  };
  if (s.rateLimit) doc.rateLimit = s.rateLimit;
  return doc;
}

export function toServerView(
  s: StoredServer,
  box: SecretBox,
  status?: ServerStatus,
  snapshot?: SnapshotStatus,
): ServerView {
  const headers = openServerHeaders(s, box);
  const view: ServerView = {
    name: s.name,
    url: s.url,
    filters: s.filters,
    headers: Object.fromEntries(Object.keys(headers).map((k) => [k, "[redacted]" as const])),
    includeSecretData: s.includeSecretData,
    snapshot: s.snapshot,
    enabled: s.enabled,
    payload: s.payload,
    includeManagedFields: s.includeManagedFields,
    disableAfterSeconds: s.disableAfterSeconds,
    retry: s.retry,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
  if (s.rateLimit) view.rateLimit = s.rateLimit;
  if (status) {
    const st: ServerStatusView = {
      state: isActive(s, status) ? "active" : "disabled",
      deadLetters: status.deadLetters ?? 0,
    };
    const reason = inactiveReason(s, status);
    if (reason) st.reason = reason;
    if (status.disabledReason && status.disabledAt) {
      st.disabledAt = status.disabledAt;
      st.notices = [{ type: SERVER_DISABLED_NOTICE, at: status.disabledAt, reason: status.disabledReason }];
    }
    if (status.failingSince) st.failingSince = status.failingSince;
    if (status.lastSuccessAt) st.lastSuccessAt = status.lastSuccessAt;
    if (status.lastFailureAt) st.lastFailureAt = status.lastFailureAt;
    if (status.pending !== undefined) st.pending = status.pending;
    if (snapshot) st.snapshot = snapshot;
    view.status = st;
  }
  return view;
}
