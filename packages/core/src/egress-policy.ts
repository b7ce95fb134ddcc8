import { type LookupAddress, type LookupAllOptions, lookup as dnsLookup } from "node:dns";
import { BlockList, isIP } from "node:net";
import { buildConnector } from "undici";
import { McicError } from "./errors.js";

/** SPEC "Configuration": what MCIC_EGRESS_DENY holds when unset (link-local, cloud metadata, "this" network). */
export const DEFAULT_EGRESS_DENY: readonly string[] = ["169.254.0.0/16", "fe80::/10", "0.0.0.0/8"];

/** A connection the egress policy refused. `message` starts with "egress denied". */
export class EgressDeniedError extends McicError {
  readonly address: string;
  constructor(host: string, address: string, reason: string) {
    super("egress_denied", `egress denied: ${host === address ? address : `${host} (${address})`} ${reason}`, 403);
    this.address = address;
  }
}

export interface EgressVerdict {
  allowed: boolean;
  /** Why not, when not allowed: the range it falls in, or that it is outside the allowed ones. */
  reason?: string;
}

interface Range {
  text: string;
  list: BlockList;
}

/** Parses "10.0.0.0/8" or "fe80::/10" (a bare address is one host); throws naming the bad entry. */
function parseRange(text: string): Range {
  const [address = "", prefixText, extra] = text.trim().split("/");
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (family === 0 || extra !== undefined || !(prefix >= 0 && prefix <= bits)) {
    throw new Error(`"${text.trim()}" is not a CIDR like 10.0.0.0/8 or fe80::/10`);
  }
  const list = new BlockList();
  list.addSubnet(address, prefix, family === 4 ? "ipv4" : "ipv6");
  return { text: `${address}/${prefix}`, list };
}

/** Splits a comma list of CIDRs and checks each; "" is the empty list. */
export function parseCidrList(text: string): string[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => parseRange(part).text);
}

const familyOf = (address: string) => (isIP(address) === 4 ? "ipv4" : "ipv6");

/**
 * Which addresses outbound connections (deliveries, test pings, cluster APIs) may reach. Deny wins;
 * with an allow list, only addresses in it. Checked on the resolved address at connect time, so a
 * hostname cannot get around it; IPv4-mapped IPv6 addresses match IPv4 ranges.
 */
export class EgressPolicy {
  readonly #deny: Range[];
  readonly #allow: Range[] | undefined;

  constructor(options: { deny?: readonly string[]; allow?: readonly string[] } = {}) {
    this.#deny = (options.deny ?? DEFAULT_EGRESS_DENY).map(parseRange);
    this.#allow = options.allow && options.allow.length > 0 ? options.allow.map(parseRange) : undefined;
  }

  /** The policy of MCIC_EGRESS_DENY and MCIC_EGRESS_ALLOW as parsed by baseEnvSchema. */
  static fromConfig(config: { MCIC_EGRESS_DENY: readonly string[]; MCIC_EGRESS_ALLOW?: readonly string[] }) {
    return new EgressPolicy({
      deny: config.MCIC_EGRESS_DENY,
      ...(config.MCIC_EGRESS_ALLOW ? { allow: config.MCIC_EGRESS_ALLOW } : {}),
    });
  }

  /** Whether a connection to this IP address may be made. Anything but an IP address is refused. */
  check(address: string): EgressVerdict {
    if (isIP(address) === 0) return { allowed: false, reason: "is not an IP address" };
    const family = familyOf(address);
    const denied = this.#deny.find((r) => r.list.check(address, family));
    if (denied) return { allowed: false, reason: `is in the denied range ${denied.text}` };
    if (this.#allow && !this.#allow.some((r) => r.list.check(address, family))) {
      return { allowed: false, reason: "is outside the allowed ranges" };
    }
    return { allowed: true };
  }

  /**
   * Registration-time check of a URL: refused only when its host is an IP literal the policy
   * refuses. WHATWG URL parsing has already turned `0x7f000001` and `2130706433` into dotted
   * form; hostnames pass here and are checked on their resolved addresses at connect time.
   */
  checkUrl(url: string | URL): EgressVerdict {
    let host: string;
    try {
      host = unbracket((typeof url === "string" ? new URL(url) : url).hostname);
    } catch {
      return { allowed: false, reason: "is not a URL" };
    }
    return isIP(host) === 0 ? { allowed: true } : this.check(host);
  }

  /**
   * A dns.lookup replacement for net/tls.connect: resolves every address of the host and fails
   * with EgressDeniedError if any is refused, before a socket connects anywhere.
   */
  readonly lookup = (
    hostname: string,
    options: { family?: number | string; hints?: number; all?: boolean },
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    const all: LookupAllOptions = { ...(options as object), all: true };
    dnsLookup(hostname, all, (err, addresses) => {
      if (err) return callback(err, []);
      for (const { address } of addresses) {
        const verdict = this.check(address);
        if (!verdict.allowed) return callback(new EgressDeniedError(hostname, address, verdict.reason ?? ""), []);
      }
      const first = addresses[0];
      if (options.all) callback(null, addresses);
      else if (first) callback(null, first.address, first.family);
      else callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), []);
    });
  };

  /**
   * An undici connector (Agent/Pool `connect` option) that enforces the policy: IP literals are
   * checked before connecting, hostnames through `lookup`. `tls` is what undici's own connector
   * takes (ca, cert, key, rejectUnauthorized, servername, timeout...).
   */
  connector(tls: buildConnector.BuildOptions = {}): buildConnector.connector {
    const connect = buildConnector({ ...tls, lookup: this.lookup } as buildConnector.BuildOptions);
    return (opts, callback) => {
      const host = unbracket(opts.hostname);
      if (isIP(host) !== 0) {
        const verdict = this.check(host);
        if (!verdict.allowed) {
          // undici expects the callback asynchronously, as after a real connect attempt.
          queueMicrotask(() => callback(new EgressDeniedError(host, host, verdict.reason ?? ""), null));
          return;
        }
      }
      connect(opts, callback);
    };
  }
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

let defaultPolicy: EgressPolicy | undefined;

/** The policy of SPEC's defaults (no allow list), for callers not given one. */
export function defaultEgressPolicy(): EgressPolicy {
  defaultPolicy ??= new EgressPolicy();
  return defaultPolicy;
}

/** True for the error of a connection the egress policy refused, wherever undici surfaced it. */
export function isEgressDenied(err: unknown): err is EgressDeniedError {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof EgressDeniedError || (e as { code?: unknown }).code === "egress_denied") return true;
  }
  return false;
}
