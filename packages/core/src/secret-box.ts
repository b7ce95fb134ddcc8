import { createCipheriv, createDecipheriv, randomFillSync } from "node:crypto";

/** v2 binds each value to the record it belongs to (AES-GCM associated data); v1 did not. */
const CURRENT = "v2";
const LEGACY = "v1";

/**
 * What a sealed value is bound to: a value copied into another record (another cluster's
 * credentials, another server's secret) no longer opens there.
 */
export const sealContext = {
  clusterCredentials: (cluster: string) => `cluster/${cluster}/credentials`,
  serverSecret: (server: string) => `server/${server}/secret`,
  serverPreviousSecret: (server: string) => `server/${server}/previousSecret`,
  serverHeaders: (server: string) => `server/${server}/headers`,
  /** The values of a Secret object inside one event envelope (bound to the envelope id). */
  secretValues: (envelopeId: string) => `event/${envelopeId}/secretValues`,
} as const;

/**
 * Seals credentials and Secret values at rest with AES-256-GCM under MCIC_SECRET_KEY:
 * `v2:<base64(iv | tag | ciphertext)>`, bound to a context string. During a key rotation the
 * previous key (MCIC_SECRET_KEY_PREVIOUS) still opens values; only the current key seals.
 */
export class SecretBox {
  readonly #key: Buffer;
  readonly #previous: Buffer | undefined;

  constructor(key: Buffer, previous?: Buffer) {
    if (key.length !== 32) throw new Error("secret key must be 32 bytes");
    if (previous && previous.length !== 32) throw new Error("previous secret key must be 32 bytes");
    this.#key = key;
    this.#previous = previous;
  }

  seal(plaintext: string, context: string): string {
    const iv = nextIv();
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${CURRENT}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
  }

  /** Opens a value sealed for `context` with the current or the previous key; throws otherwise. */
  open(sealed: string, context: string): string {
    return this.#open(sealed, context).plaintext;
  }

  /**
   * True when the value is sealed the current way (v2, current key), so the re-seal step after
   * a key rotation can skip it. Throws when it cannot be opened at all.
   */
  isCurrent(sealed: string, context: string): boolean {
    const { version, key } = this.#open(sealed, context);
    return version === CURRENT && key === this.#key;
  }

  #open(sealed: string, context: string): { plaintext: string; version: string; key: Buffer } {
    const colon = sealed.indexOf(":");
    const version = sealed.slice(0, colon);
    const data = sealed.slice(colon + 1);
    if (colon < 0 || (version !== CURRENT && version !== LEGACY) || !data) {
      throw new Error("sealed value has an unknown format");
    }
    const raw = Buffer.from(data, "base64");
    // v1 values predate the binding: they open without associated data until re-sealed.
    const aad = version === CURRENT ? Buffer.from(context, "utf8") : undefined;
    let failure: unknown;
    for (const key of this.#previous ? [this.#key, this.#previous] : [this.#key]) {
      try {
        return { plaintext: decrypt(key, raw, aad), version, key };
      } catch (err) {
        failure = err;
      }
    }
    // A wrong key, another record's value or a tampered one ("unable to authenticate data").
    throw failure as Error;
  }
}

/**
 * Random 96-bit IVs, taken from a pool filled 512 at a time: a call to the random source per seal
 * cost more than the encryption (the watcher seals every Secret change). Each IV is used once.
 */
const IV_BYTES = 12;
const ivPool = Buffer.alloc(IV_BYTES * 512);
let ivOffset = ivPool.length;
function nextIv(): Buffer {
  if (ivOffset === ivPool.length) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  // A copy: the pool is refilled in place.
  const iv = Buffer.from(ivPool.subarray(ivOffset, ivOffset + IV_BYTES));
  ivOffset += IV_BYTES;
  return iv;
}

function decrypt(key: Buffer, raw: Buffer, aad: Buffer | undefined): string {
  const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12), { authTagLength: 16 });
  decipher.setAuthTag(raw.subarray(12, 28));
  if (aad) decipher.setAAD(aad);
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
}
