import { isIP } from "node:net";

// Everything the renderer writes into the config comes from clusters, so it is checked against
// these shapes first: none of them can hold a space, quote, `;`, `{`, `}`, `#`, `$` or newline,
// so no value can end a directive or start a new one.
const LABEL = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
const DNS_LABEL = new RegExp(`^${LABEL}$`);
const DNS_SUBDOMAIN = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const PATH = /^\/[A-Za-z0-9._~!*+,:@%/-]*$/;

/** A Kubernetes name: a DNS-1123 subdomain (at most 253). */
export const isName = (s: unknown): s is string => typeof s === "string" && s.length <= 253 && DNS_SUBDOMAIN.test(s);

export const isLabel = (s: unknown): s is string => typeof s === "string" && DNS_LABEL.test(s);

/** An ingress host: a DNS name, optionally with a leading `*.` wildcard, as Kubernetes allows. */
export function isHost(s: unknown): s is string {
  if (typeof s !== "string" || s.length > 253) return false;
  return DNS_SUBDOMAIN.test(s.startsWith("*.") ? s.slice(2) : s) && s.includes(".");
}

/** An HTTP path of an ingress rule: absolute, with URL-safe characters only, at most 1024. */
export const isPath = (s: unknown): s is string => typeof s === "string" && s.length <= 1024 && PATH.test(s);

/** A load balancer address as an nginx `server` wants it: an IP (IPv6 bracketed) or a DNS name. */
export function upstreamAddress(ip: unknown, hostname: unknown): string | undefined {
  if (typeof ip === "string" && ip !== "") {
    const family = isIP(ip);
    if (family === 4) return ip;
    if (family === 6) return `[${ip}]`;
    return undefined;
  }
  if (isName(hostname)) return hostname;
  return undefined;
}
