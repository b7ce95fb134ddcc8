import { BlockList, isIPv4, isIPv6 } from "node:net";

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** True when binding to `host` keeps the API on this machine: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackBindHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (h === "localhost") return true;
  if (isIPv4(h)) return LOOPBACK.check(h, "ipv4");
  if (isIPv6(h)) return LOOPBACK.check(h, "ipv6");
  return false;
}

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * True when a Host header names this machine by loopback (localhost, 127.0.0.1 or [::1], any
 * port). A page a browser loaded from a rebound DNS name sends that name instead.
 */
export function isLoopbackHostHeader(header: string | undefined): boolean {
  if (!header) return false;
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d{1,5}))?$/.exec(header.trim().toLowerCase());
  return m !== null && LOOPBACK_NAMES.has(m[1] as string);
}
