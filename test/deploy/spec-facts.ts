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
