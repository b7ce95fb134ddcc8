import { createHmac, timingSafeEqual } from "node:crypto";
import { SignatureError } from "./errors.js";

const PREFIX = "whsec_";
/** Standard Webhooks' default tolerance: a delivery signed more than 5 minutes away from now is refused. */
export const TIMESTAMP_TOLERANCE_SEC = 5 * 60;

/** Decodes `whsec_<base64>` secrets once; throws naming the bad entry so a typo fails at start. */
export function decodeSecrets(secrets: readonly string[]): Buffer[] {
  if (secrets.length === 0) throw new TypeError("secrets: at least one whsec_ secret is needed");
  return secrets.map((secret, i) => {
    const b64 = typeof secret === "string" && secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : "";
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new TypeError(`secrets[${i}]: not a whsec_<base64> secret`);
    const key = Buffer.from(b64, "base64");
    if (key.length < 16) throw new TypeError(`secrets[${i}]: key shorter than 16 bytes`);
    return key;
  });
}

export interface SignedHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/**
 * Verifies a Standard Webhooks signature over the raw body: one of the space-separated `v1,<sig>`
 * entries must match one of the keys (during a secret rotation mcic sends one per key, and the
 * receiver may hold the old, the new or both). Compares in constant time.
 */
export function verifySignature(keys: readonly Buffer[], headers: SignedHeaders, body: Buffer, nowMs: number): void {
  const { id, timestamp, signature } = headers;
  if (!id) throw new SignatureError("missing webhook-id header", "webhook-id");
  if (!timestamp) throw new SignatureError("missing webhook-timestamp header", "webhook-timestamp");
  if (!signature) throw new SignatureError("missing webhook-signature header");
  if (!/^\d{1,12}$/.test(timestamp))
    throw new SignatureError("webhook-timestamp is not unix seconds", "webhook-timestamp");
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > TIMESTAMP_TOLERANCE_SEC) {
    throw new SignatureError("webhook-timestamp is more than 5 minutes from now", "webhook-timestamp");
  }
  const offered = signature
    .split(" ")
    .filter((part) => part.startsWith("v1,"))
    .map((part) => Buffer.from(part.slice(3), "base64"));
  const prefix = Buffer.from(`${id}.${timestamp}.`, "utf8");
  for (const key of keys) {
    const expected = createHmac("sha256", key).update(prefix).update(body).digest();
    // Every offered entry is compared, so timing does not tell which one was close.
    let match = false;
    for (const sig of offered) {
      if (sig.length === expected.length && timingSafeEqual(sig, expected)) match = true;
    }
    if (match) return;
  }
  throw new SignatureError("no webhook-signature matches a configured secret");
}
