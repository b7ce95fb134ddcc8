/**
 * A kubeconfig with one cluster, user and context, all called `name`. Values are written as JSON
 * strings, which YAML reads as double-quoted scalars, so no token or URL can break the document.
 * `caPem`, when given, becomes the cluster's certificate-authority-data.
 */
export function kubeconfigFor(server: string, token: string | undefined, name: string, caPem?: string): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    "apiVersion: v1",
    "kind: Config",
    `current-context: ${q(name)}`,
    "clusters:",
    `- name: ${q(name)}`,
    "  cluster:",
    `    server: ${q(server)}`,
    ...(caPem ? [`    certificate-authority-data: ${q(Buffer.from(caPem).toString("base64"))}`] : []),
    "contexts:",
    `- name: ${q(name)}`,
    "  context:",
    `    cluster: ${q(name)}`,
    `    user: ${q(name)}`,
    "users:",
    `- name: ${q(name)}`,
    token ? `  user:\n    token: ${q(token)}` : "  user: {}",
    "",
  ].join("\n");
}
