import {
  type SecretBox,
  type ServerInput,
  type ServerStatus,
  type StoredServer,
  generateWebhookSecret,
  inactiveReason,
  isActive,
  openServerHeaders,
  sealContext,
} from "@mcic/core";
import type { ServerStatusView, ServerView } from "./schemas.js";

/**
 * Validated input → stored record. On replace without a new secret the previous sealed secret is
 * kept, so updating a URL does not break every receiver's signature check.
 */
export function toStoredServer(
  input: ServerInput,
  box: SecretBox,
  now: Date,
  previous?: StoredServer,
): { stored: StoredServer; secret?: string } {
  const secret = input.secret ?? (previous ? undefined : generateWebhookSecret());
  const stored: StoredServer = {
    name: input.name,
    url: input.url,
    filters: input.filters,
    headers: box.seal(JSON.stringify(input.headers), sealContext.serverHeaders(input.name)),
    secret:
      secret !== undefined ? box.seal(secret, sealContext.serverSecret(input.name)) : (previous as StoredServer).secret,
    includeSecretData: input.includeSecretData,
    snapshot: input.snapshot,
    enabled: input.enabled,
    retry: input.retry,
    createdAt: previous?.createdAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
  };
  return secret !== undefined && input.secret === undefined ? { stored, secret } : { stored };
}

export function toServerView(s: StoredServer, box: SecretBox, status?: ServerStatus): ServerView {
  const headers = openServerHeaders(s, box);
  const view: ServerView = {
    name: s.name,
    url: s.url,
    filters: s.filters,
    headers: Object.fromEntries(Object.keys(headers).map((k) => [k, "[redacted]" as const])),
    includeSecretData: s.includeSecretData,
    snapshot: s.snapshot,
    enabled: s.enabled,
    retry: s.retry,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
  if (status) {
    const st: ServerStatusView = {
      state: isActive(s, status) ? "active" : "disabled",
      deadLetters: status.deadLetters ?? 0,
    };
    const reason = inactiveReason(s, status);
    if (reason) st.reason = reason;
    if (status.lastSuccessAt) st.lastSuccessAt = status.lastSuccessAt;
    if (status.lastFailureAt) st.lastFailureAt = status.lastFailureAt;
    if (status.pending !== undefined) st.pending = status.pending;
    view.status = st;
  }
  return view;
}
