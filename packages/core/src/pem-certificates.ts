import { X509Certificate } from "node:crypto";
import { McicError } from "./errors.js";

/** Text meant to hold PEM certificates that does not. */
export class CertificateError extends McicError {
  constructor(message: string) {
    super("invalid_certificate", message, 400);
  }
}

const BLOCK = /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g;
const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/**
 * Decodes base64 the strict way: Buffer.from skips characters it does not know, so junk would
 * otherwise become a shorter, silently wrong value.
 */
export function decodeBase64Strict(text: string, what: string): string {
  if (!BASE64.test(text)) throw new CertificateError(`${what} is not base64`);
  return Buffer.from(text, "base64").toString("utf8");
}

/**
 * Checks that PEM text is one or more X.509 certificates (a CA bundle) that node can load, so a
 * bad CA is refused when it is registered rather than when the first connection fails.
 */
export function checkCertificatesPem(pem: string, what: string): void {
  const blocks = pem.match(BLOCK);
  if (!blocks) throw new CertificateError(`${what} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new CertificateError(
        `${what}: certificate ${i + 1} cannot be read: ${(err as Error).message.split("\n")[0]}`,
      );
    }
  }
}
