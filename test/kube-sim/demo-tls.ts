import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface DemoCertificate {
  cert: string;
  key: string;
}

/**
 * The serving certificate of a standalone kube-sim, kept in `dir` (cert.pem, key.pem) so that a
 * kubeconfig written by an earlier run stays valid; made with the openssl CLI on first use
 * (node:crypto cannot issue X.509 certificates). Self-signed for 127.0.0.1, ::1 and localhost: it is
 * its own CA, which both kubectl and Node accept when the kubeconfig carries it as
 * certificate-authority-data.
 */
export function demoCertificate(dir: string): DemoCertificate {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  if (!existsSync(cert) || !existsSync(key)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
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
          key,
          "-out",
          cert,
          "-days",
          "825",
          "-subj",
          "/CN=kube-sim demo",
          "-addext",
          "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`openssl could not make the demo certificate in ${dir}: ${stderr || (err as Error).message}`);
    }
  }
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}
