import {
  type SecretBox,
  type ServerInput,
  type StoredServer,
  type WebhookTarget,
  generateWebhookSecret,
  webhookKey,
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
    headers: box.seal(JSON.stringify(input.headers)),
    secret: secret !== undefined ? box.seal(secret) : (previous as StoredServer).secret,
    includeSecretData: input.includeSecretData,
    snapshot: input.snapshot,
    enabled: input.enabled,
    retry: input.retry,
    createdAt: previous?.createdAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
  };
  return secret !== undefined && input.secret === undefined ? { stored, secret } : { stored };
}

export function toServerView(s: StoredServer, box: SecretBox, status?: Record<string, string>): ServerView {
  const headers = JSON.parse(box.open(s.headers)) as Record<string, string>;
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
      state: s.enabled && !status.disabledReason ? "active" : "disabled",
      deadLetters: Number(status.deadLetters ?? 0),
    };
    const reason = status.disabledReason ?? (s.enabled ? undefined : "disabled by configuration");
    if (reason) st.reason = reason;
    if (status.lastSuccessAt) st.lastSuccessAt = status.lastSuccessAt;
    if (status.lastFailureAt) st.lastFailureAt = status.lastFailureAt;
    if (status.pending) st.pending = Number(status.pending);
    view.status = st;
  }
  return view;
}

/** What the WebhookSender needs to deliver to a stored server (secret and headers opened). */
export function webhookTarget(s: StoredServer, box: SecretBox): WebhookTarget {
  return {
    url: s.url,
    key: webhookKey(box.open(s.secret)),
    headers: JSON.parse(box.open(s.headers)) as Record<string, string>,
  };
}
