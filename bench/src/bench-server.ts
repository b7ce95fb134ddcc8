import { type SecretBox, type ServerFilters, type StoredServer, generateWebhookSecret, sealContext } from "@mcic/core";

/** A server record as the API would store it: a fresh secret, no extra headers, full payloads. */
export function benchServer(box: SecretBox, name: string, url: string, filters: ServerFilters): StoredServer {
  const now = new Date().toISOString();
  return {
    name,
    url,
    filters,
    headers: box.seal("{}", sealContext.serverHeaders(name)),
    secret: box.seal(generateWebhookSecret(), sealContext.serverSecret(name)),
    includeSecretData: false,
    snapshot: false,
    enabled: true,
    payload: "full",
    includeManagedFields: false,
    disableAfterSeconds: 432_000,
    retry: {},
    createdAt: now,
    updatedAt: now,
  };
}
