import { createHmac, randomBytes } from "node:crypto";
import type { Envelope } from "./envelope.js";
import { redactEnvelope } from "./secret-values.js";
import { snapshotCompletedEvent } from "./snapshot-completed.js";

export const SECRET_PREFIX = "whsec_";

/** A new Standard Webhooks secret: `whsec_` + 32 random bytes in base64. */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString("base64");
}

export function isWebhookSecret(text: string): boolean {
  if (!text.startsWith(SECRET_PREFIX)) return false;
  const b64 = text.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
  const len = Buffer.from(b64, "base64").length;
  return len >= 24 && len <= 64;
}

/** Decodes the HMAC key once so hot paths do not base64-decode per request. */
export function webhookKey(secret: string): Buffer {
  return Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
}

/**
 * `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` as Standard Webhooks defines it; with
 * several keys (a secret rotation's overlap) one such signature per key, space-separated, in order.
 */
export function signWebhook(key: Buffer | readonly Buffer[], id: string, timestampSec: number, body: string): string {
  const keys = Buffer.isBuffer(key) ? [key] : key;
  const content = `${id}.${timestampSec}.${body}`;
  return keys.map((k) => `v1,${createHmac("sha256", k).update(content).digest("base64")}`).join(" ");
}

export interface CloudEvent {
  specversion: "1.0";
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: "application/json";
  data: unknown;
}

/**
 * The CloudEvents 1.0 structured-mode event for one envelope (docs/contract.md "Delivery to
 * servers"). Sealed Secret values are never sent: a server with `includeSecretData` gets them
 * only when the caller opened them first (openSecretValues).
 */
export function toCloudEvent(envelope: Envelope, options: { includeSecretData: boolean }): CloudEvent {
  const notice = snapshotCompletedEvent(envelope);
  if (notice) return notice;
  return {
    specversion: "1.0",
    id: envelope.id,
    source: `/clusters/${envelope.cluster}`,
    type: `dev.mcic.${envelope.resource}.${envelope.type.toLowerCase()}`,
    subject: envelope.namespace ? `${envelope.namespace}/${envelope.name}` : envelope.name,
    time: envelope.observedAt,
    datacontenttype: "application/json",
    data: redactEnvelope(envelope, options),
  };
}
