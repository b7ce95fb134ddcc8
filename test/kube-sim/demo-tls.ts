import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type TestCertificate, selfSignedCert } from "../support/tls.js";

/**
 * The serving certificate of a standalone kube-sim, kept in `dir` (cert.pem, key.pem) so that a
 * kubeconfig written by an earlier run stays valid; made with the openssl CLI on first use
 * (node:crypto cannot issue X.509 certificates). Self-signed for 127.0.0.1 and localhost: it is its
 * own CA, which both kubectl and Node accept when the kubeconfig carries it as
 * certificate-authority-data.
 */
export function demoCertificate(dir: string): TestCertificate {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  if (!existsSync(cert) || !existsSync(key)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let made: TestCertificate;
    try {
      made = selfSignedCert("kube-sim demo", 825);
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`openssl could not make the demo certificate in ${dir}: ${stderr || (err as Error).message}`);
    }
    writeFileSync(key, made.key, { mode: 0o600 });
    writeFileSync(cert, made.cert);
  }
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}
