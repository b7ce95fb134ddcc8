import type { EgressPolicy } from "@mcic/core";

/**
 * What is wrong with a URL mcic would connect to, as messages for the field that holds it: a user
 * name or password (they would be sent, and logged, with every request), or a literal address the
 * egress policy denies. Hostnames pass: their addresses are checked at connect time. A URL that
 * does not parse yields nothing here; its own schema reports it.
 */
export function endpointProblems(text: string, policy: EgressPolicy): string[] {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [];
  }
  const problems: string[] = [];
  if (url.username || url.password) problems.push("must not contain a user name or password");
  const verdict = policy.checkUrl(url);
  if (!verdict.allowed) problems.push(`host ${url.hostname} ${verdict.reason} (egress policy)`);
  return problems;
}

/**
 * A cluster API server over plain `http://` while credentials (a token or a client certificate)
 * go with every request: they would cross the network in clear text. Undefined when fine.
 */
export function credentialsInClear(server: string, credentials: "a token" | "a client certificate" | undefined) {
  if (credentials === undefined || !URL.canParse(server) || new URL(server).protocol !== "http:") return undefined;
  return `must be https:// when ${credentials} is given: over http:// it would travel in clear text`;
}
