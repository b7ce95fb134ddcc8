import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificate {
  cert: string;
  key: string;
}

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made with openssl at test time so no
 * private key is committed. Serves as its own CA.
 */
export function selfSignedCert(commonName = "127.0.0.1", days = 2): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "mcic-tls-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        String(days),
        "-subj",
        `/CN=${commonName}`,
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { stdio: "ignore" },
    );
    return { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `caData` of a cluster registration that trusts this certificate: base64 of its PEM. */
export function caDataOf(certificate: TestCertificate): string {
  return Buffer.from(certificate.cert).toString("base64");
}
