import type { RedisOptions } from "ioredis";
import { RedisUrlError } from "./errors.js";

export interface RedisEndpoint {
  host: string;
  port: number;
}

const SENTINEL_PORT = 26379;
const REDACTED = "[redacted]";
/** Host names and IPv4 addresses; IPv6 addresses come in brackets and are checked apart. */
const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;
const SENTINEL_URL = /^(rediss?\+sentinel):\/\/(?:(.*)@)?([^@/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/i;

interface SentinelSettings {
  sentinels: RedisEndpoint[];
  name: string;
  db: number;
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
}

/**
 * A parsed REDIS_URL: one Redis (`redis://`, `rediss://`, handed to ioredis as it is) or a master
 * found through Sentinel (`redis+sentinel://`, `rediss+sentinel://`). Credentials live in private
 * fields, so logging or printing the value shows the redacted URL only.
 */
export class RedisTarget {
  readonly mode: "standalone" | "sentinel";
  /** The URL with its credentials replaced: what logs and errors may show. */
  readonly redacted: string;
  readonly #url: string | undefined;
  readonly #sentinel: SentinelSettings | undefined;

  private constructor(redacted: string, url: string | undefined, sentinel: SentinelSettings | undefined) {
    this.mode = sentinel ? "sentinel" : "standalone";
    this.redacted = redacted;
    this.#url = url;
    this.#sentinel = sentinel;
  }

  static standalone(url: string, redacted: string): RedisTarget {
    return new RedisTarget(redacted, url, undefined);
  }

  static sentinel(settings: SentinelSettings, redacted: string): RedisTarget {
    return new RedisTarget(redacted, undefined, settings);
  }

  /** The Sentinel endpoints (empty for a single Redis). */
  get sentinels(): readonly RedisEndpoint[] {
    return this.#sentinel?.sentinels ?? [];
  }

  /** What ioredis is given: the URL itself, or the options of its Sentinel mode. */
  clientSettings(): { url: string; options: RedisOptions } | { url: undefined; options: RedisOptions } {
    if (this.#url !== undefined) return { url: this.#url, options: {} };
    const s = this.#sentinel as SentinelSettings;
    const options: RedisOptions = {
      sentinels: s.sentinels.map((e) => ({ ...e })),
      name: s.name,
      role: "master",
      db: s.db,
      // Most deployments protect the sentinels with the same password as Redis, or none (then
      // the default user's AUTH is accepted with a warning): one set in the URL serves both. A
      // named ACL user must exist on the sentinels too (docs/operations.md).
      ...(s.username !== undefined ? { username: s.username, sentinelUsername: s.username } : {}),
      ...(s.password !== undefined ? { password: s.password, sentinelPassword: s.password } : {}),
      ...(s.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    };
    return { url: undefined, options };
  }

  toString(): string {
    return this.redacted;
  }

  toJSON(): string {
    return this.redacted;
  }
}

/** Parses REDIS_URL once at start; throws RedisUrlError naming what is wrong, never the password. */
export function parseRedisUrl(text: string): RedisTarget {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === "redis" || scheme === "rediss") return parseSingle(text);
  if (scheme === "redis+sentinel" || scheme === "rediss+sentinel") return parseSentinel(text);
  throw new RedisUrlError(
    `${scheme ? `scheme ${scheme}:// is not supported` : "not a URL"}: use redis://, rediss://, ` +
      "redis+sentinel:// or rediss+sentinel://",
  );
}

function parseSingle(text: string): RedisTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisUrlError("not a valid URL (a bad port, or a character in the password that needs %-encoding)");
  }
  if (!url.hostname) throw new RedisUrlError("no host after //");
  // ioredis also reads options from the query, a password among them.
  const params = [...url.searchParams].map(([k, v]) => `${k}=${/pass/i.test(k) ? REDACTED : v}`);
  const query = params.length ? `?${params.join("&")}` : "";
  const auth = url.username || url.password ? `${REDACTED}@` : "";
  return RedisTarget.standalone(text, `${url.protocol}//${auth}${url.host}${url.pathname}${query}`);
}

function parseSentinel(text: string): RedisTarget {
  const m = SENTINEL_URL.exec(text);
  if (!m) throw new RedisUrlError("not a valid Sentinel URL: redis+sentinel://[user:pass@]h1:26379,h2:26379/<master>");
  const [, typed = "", userinfo, hostList = "", path, query] = m;
  const scheme = typed.toLowerCase();
  const sentinels = hostList.split(",").map((part, i) => parseEndpoint(part, i + 1));
  const name = decode(path ?? "", "the master name");
  if (!name) throw new RedisUrlError("no master name: add /<master> after the sentinels (the name in sentinel.conf)");
  if (/[\s/]/.test(name))
    throw new RedisUrlError("the master name may not contain spaces or /; put a database in ?db=N");
  const db = parseQuery(query ?? "");
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(":");
    // Without a colon, redis:// URLs (and ioredis) read a user name: say so rather than guess.
    if (colon === -1) throw new RedisUrlError("credentials must be user:password or :password (the default user)");
    const user = decode(userinfo.slice(0, colon), "the user name");
    const pass = decode(userinfo.slice(colon + 1), "the password");
    username = user || undefined;
    password = pass || undefined;
  }
  const endpoints = sentinels.map((e) => `${e.host.includes(":") ? `[${e.host}]` : e.host}:${e.port}`).join(",");
  const auth = userinfo !== undefined ? `${REDACTED}@` : "";
  const redacted = `${scheme}://${auth}${endpoints}/${encodeURIComponent(name)}${db ? `?db=${db}` : ""}`;
  return RedisTarget.sentinel({ sentinels, name, db, tls: scheme.startsWith("rediss"), username, password }, redacted);
}

function parseEndpoint(part: string, index: number): RedisEndpoint {
  const which = `sentinel ${index}`;
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::([^:]*))?$/.exec(part);
  if (!m) throw new RedisUrlError(`${which} "${part}" is not host:port (put an IPv6 address in [brackets])`);
  const [, v6, name, portText] = m;
  const host = v6 ?? name ?? "";
  if (!host) throw new RedisUrlError(`${which} has no host (sentinels are a comma list of host:port)`);
  if (v6 !== undefined ? !IPV6.test(host) : !HOST_NAME.test(host)) {
    throw new RedisUrlError(`${which} "${host}" is not a host name or IP address`);
  }
  if (portText === undefined) return { host, port: SENTINEL_PORT };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
  if (port < 1 || port > 65535) throw new RedisUrlError(`${which} has port "${portText}": expected 1-65535`);
  return { host, port };
}

function parseQuery(query: string): number {
  let db = 0;
  for (const [key, value] of new URLSearchParams(query)) {
    if (key !== "db") throw new RedisUrlError(`unknown parameter "${key}" (only ?db=N is supported with Sentinel)`);
    if (!/^\d{1,5}$/.test(value)) throw new RedisUrlError(`db "${value}" is not a database number`);
    db = Number(value);
  }
  return db;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError(`${what} is not valid %-encoding`);
  }
}
