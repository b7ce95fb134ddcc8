import { type ServerFilters, ServerFiltersSchema, type StoredServer } from "../models.js";
import { type SecretBox, sealContext } from "../secret-box.js";
import { generateWebhookSecret } from "../webhook.js";

export interface StoredServerOptions extends Partial<Omit<StoredServer, "secret" | "headers" | "filters">> {
  /** Stored as given (default: no filter). */
  filters?: ServerFilters;
  /** The signing secret in clear, sealed into the record (default: a fresh one). */
  secret?: string;
  /** Headers sent with every delivery, sealed into the record (default: none). */
  headers?: Record<string, string>;
}

/**
 * A server record as the API would store it: sealed secret and headers, full payloads, defaults
 * for the rest; `options` set any field. For tests and benchmarks that write Redis directly.
 */
export function storedServer(
  box: SecretBox,
  name: string,
  url: string,
  options: StoredServerOptions = {},
): StoredServer {
  const { filters, secret, headers, ...overrides } = options;
  const now = new Date().toISOString();
  return {
    name,
    url,
    filters: filters ?? ServerFiltersSchema.parse({}),
    headers: box.seal(JSON.stringify(headers ?? {}), sealContext.serverHeaders(name)),
    secret: box.seal(secret ?? generateWebhookSecret(), sealContext.serverSecret(name)),
    includeSecretData: false,
    snapshot: false,
    enabled: true,
    payload: "full",
    includeManagedFields: false,
    disableAfterSeconds: 432_000,
    retry: {},
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}
