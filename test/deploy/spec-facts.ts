/** What docs/contract.md fixes that the deploy files must agree with, in one place for every deploy test. */

/** The variables of the contract's configuration table. */
export const SPEC_VARS = [
  "NATS_URL",
  "REDIS_URL",
  "MCIC_PREFIX",
  "API_HOST",
  "API_PORT",
  "API_TOKENS",
  "MCIC_SECRET_KEY",
  "METRICS_PORT",
  "WATCHER_ID",
  "LEASE_TTL_MS",
  "DISPATCH_CONCURRENCY",
  "DISPATCH_TIMEOUT_MS",
  "DISPATCH_RETRY_SCHEDULE",
  "STREAM_REPLICAS",
  "LOG_LEVEL",
  "MCIC_SECRET_KEY_PREVIOUS",
  "MCIC_EGRESS_DENY",
  "MCIC_EGRESS_ALLOW",
] as const;

/** The port each service answers /healthz and /readyz on (API_PORT, METRICS_PORT defaults). */
export const SERVICE_PORTS = { api: 8000, watcher: 9464, dispatcher: 9465 } as const;
export const MCIC_SERVICES = Object.keys(SERVICE_PORTS) as (keyof typeof SERVICE_PORTS)[];

/** STREAM_REPLICAS on a NATS cluster ("3 on a NATS cluster"). */
export const CLUSTER_STREAM_REPLICAS = 3;

/**
 * REDIS_URL for Sentinel: `redis+sentinel://[user:pass@]h1:26379,h2:26379,h3:26379/<master>`.
 * Returns the sentinels' `host:port` and the master name, or undefined when not of that form.
 */
export function parseSentinelUrl(url: string): { sentinels: string[]; masterName: string } | undefined {
  const match = /^redis\+sentinel:\/\/(?:[^@/]*@)?([^@/]+)\/([^/?#]+)$/.exec(url);
  if (!match) return undefined;
  const sentinels = (match[1] as string).split(",");
  if (!sentinels.every((s) => /^[^:,]+:\d+$/.test(s))) return undefined;
  return { sentinels, masterName: match[2] as string };
}
