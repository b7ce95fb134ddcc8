import { z } from "zod";
import { YamlLimitError, parseBoundedYaml } from "./bounded-yaml.js";
import { KubeconfigError } from "./errors.js";
import type { Connection } from "./models.js";
import { CertificateError, checkCertificatesPem, decodeBase64Strict } from "./pem-certificates.js";

const ClusterEntry = z
  .object({
    server: z.string(),
    "certificate-authority-data": z.string().optional(),
    "certificate-authority": z.string().optional(),
    "insecure-skip-tls-verify": z.boolean().optional(),
    "tls-server-name": z.string().optional(),
  })
  .loose();

const UserEntry = z
  .object({
    token: z.string().optional(),
    "client-certificate-data": z.string().optional(),
    "client-key-data": z.string().optional(),
    "client-certificate": z.string().optional(),
    "client-key": z.string().optional(),
    tokenFile: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    exec: z.unknown().optional(),
    "auth-provider": z.unknown().optional(),
  })
  .loose();

const KubeconfigSchema = z
  .object({
    "current-context": z.string().nullish(),
    clusters: z.array(z.object({ name: z.string(), cluster: ClusterEntry })).nullish(),
    users: z.array(z.object({ name: z.string(), user: UserEntry.nullish() })).nullish(),
    contexts: z
      .array(
        z.object({ name: z.string(), context: z.object({ cluster: z.string(), user: z.string().optional() }).loose() }),
      )
      .nullish(),
  })
  .loose();

/** Decodes a `*-data` field, naming it when it is not base64. */
function b64decode(text: string, field: string): string {
  try {
    return decodeBase64Strict(text, field);
  } catch (err) {
    if (err instanceof CertificateError) throw new KubeconfigError("kubeconfig", `kubeconfig ${err.message}`);
    throw err;
  }
}

/**
 * Reads a kubeconfig given as text and returns how to reach the chosen context's cluster. Refuses
 * what mcic cannot or must not do from a shared control plane: exec and auth-provider plugins
 * (they would run commands on our host), file references (the files are not ours) and basic auth
 * (Kubernetes removed it; dropping it silently would leave a cluster that never authenticates).
 * The text is read with limits (see parseBoundedYaml): registration runs on the API's event loop.
 */
export function parseKubeconfig(text: string, contextName?: string): Connection {
  let doc: unknown;
  try {
    doc = parseBoundedYaml(text);
  } catch (err) {
    if (err instanceof YamlLimitError) throw new KubeconfigError("kubeconfig", `kubeconfig ${err.message}`);
    throw err;
  }
  const result = KubeconfigSchema.safeParse(doc);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new KubeconfigError(
      "kubeconfig",
      `kubeconfig is malformed at ${issue?.path.join(".") || "top level"}: ${issue?.message}`,
    );
  }
  const kc = result.data;
  const name = contextName ?? kc["current-context"] ?? undefined;
  if (!name) throw new KubeconfigError("context", "kubeconfig has no current-context; give context");
  const ctx = kc.contexts?.find((c) => c.name === name);
  if (!ctx) throw new KubeconfigError("context", `context "${name}" is not in the kubeconfig`);
  const { cluster: clusterName, user: userName } = ctx.context;
  const cluster = kc.clusters?.find((c) => c.name === clusterName)?.cluster;
  if (!cluster)
    throw new KubeconfigError("kubeconfig", `cluster "${clusterName}" of context "${name}" is not in the kubeconfig`);
  let server: URL;
  try {
    server = new URL(cluster.server);
  } catch {
    throw new KubeconfigError("kubeconfig", `cluster "${clusterName}" has an invalid server URL`);
  }
  if (server.protocol !== "https:" && server.protocol !== "http:") {
    throw new KubeconfigError("kubeconfig", `cluster "${clusterName}" server must be http(s)`);
  }
  if (server.username || server.password) {
    throw new KubeconfigError("kubeconfig", `cluster "${clusterName}" server must not contain a user name or password`);
  }
  if (cluster["certificate-authority"]) {
    throw new KubeconfigError(
      "kubeconfig",
      "certificate-authority file paths are not supported: embed certificate-authority-data",
    );
  }
  const entry = userName ? kc.users?.find((u) => u.name === userName) : undefined;
  if (userName && !entry) {
    throw new KubeconfigError("kubeconfig", `user "${userName}" of context "${name}" is not in the kubeconfig`);
  }
  const u = entry?.user ?? {};
  if (u.exec !== undefined)
    throw new KubeconfigError("kubeconfig", "exec credential plugins are refused: use a token or client certificate");
  if (u["auth-provider"] !== undefined)
    throw new KubeconfigError("kubeconfig", "auth-provider plugins are refused: use a token or client certificate");
  if (u.username !== undefined || u.password !== undefined) {
    throw new KubeconfigError(
      "kubeconfig",
      "username/password (basic auth) is not supported: use a token or client certificate",
    );
  }
  if (u["client-certificate"] || u["client-key"] || u.tokenFile) {
    throw new KubeconfigError(
      "kubeconfig",
      "file references in users are not supported: embed client-certificate-data, client-key-data or token",
    );
  }
  const conn: Connection = { server: server.toString().replace(/\/$/, "") };
  if (typeof u.token === "string") conn.token = u.token;
  if (typeof u["client-certificate-data"] === "string")
    conn.certData = b64decode(u["client-certificate-data"], "client-certificate-data");
  if (typeof u["client-key-data"] === "string") conn.keyData = b64decode(u["client-key-data"], "client-key-data");
  if (Boolean(conn.certData) !== Boolean(conn.keyData)) {
    throw new KubeconfigError("kubeconfig", "client-certificate-data and client-key-data must be given together");
  }
  if (cluster["certificate-authority-data"]) {
    conn.caData = b64decode(cluster["certificate-authority-data"], "certificate-authority-data");
    try {
      checkCertificatesPem(conn.caData, "certificate-authority-data");
    } catch (err) {
      if (err instanceof CertificateError) throw new KubeconfigError("kubeconfig", `kubeconfig ${err.message}`);
      throw err;
    }
  }
  if (cluster["insecure-skip-tls-verify"]) conn.insecureSkipTLSVerify = true;
  if (cluster["tls-server-name"]) conn.tlsServerName = cluster["tls-server-name"];
  return conn;
}
