/**
 * Every Redis key and channel mcic uses, in one place. Keys of one cluster or server share a hash
 * tag (`{cluster:name}`) so that multi-key writes stay in one slot on Redis Cluster.
 */
export function redisKeys(prefix: string) {
  return {
    /** Set of registered cluster names. */
    clusters: `${prefix}:clusters`,
    /** Counter raised by every cluster registration write, in the same step (no follower confirms it yet). */
    clustersRevision: `${prefix}:clusters:revision`,
    /** JSON of one cluster's stored registration (credentials sealed). */
    cluster: (name: string) => `${prefix}:{cluster:${name}}:spec`,
    /** Hash resource → JSON status written by the watcher that owns the cluster. */
    clusterStatus: (name: string) => `${prefix}:{cluster:${name}}:status`,
    /** Lease naming the watcher replica that owns a cluster. */
    clusterLease: (name: string) => `${prefix}:{cluster:${name}}:lease`,
    /** Hash scope → JSON {rv, fingerprint}: where each watch of a cluster resumes. */
    clusterResume: (name: string) => `${prefix}:{cluster:${name}}:resume`,
    /** Hash uid → compact JSON of each object a watch scope has published. */
    clusterObjects: (name: string, scope: string) => `${prefix}:{cluster:${name}}:objects:${scope}`,
    /** Sorted set of live watcher replicas, scored by their last heartbeat (ms). */
    watchers: `${prefix}:watchers`,
    /** Sorted set of live dispatcher replicas, scored by their last heartbeat (ms, Redis clock). */
    dispatchers: `${prefix}:dispatchers`,
    /** Hash replica → the revision of `serversRevision` its server index reflects. */
    dispatchersApplied: `${prefix}:dispatchers:applied`,
    /** Set of registered server names. */
    servers: `${prefix}:servers`,
    /**
     * Counter raised by every server registration write, in the same step: a reader that sees
     * revision N and then lists the servers sees every write up to N.
     */
    serversRevision: `${prefix}:servers:revision`,
    /** JSON of one server's stored registration (secret sealed). */
    server: (name: string) => `${prefix}:{server:${name}}:spec`,
    /** Hash of delivery status fields written by dispatchers. */
    serverStatus: (name: string) => `${prefix}:{server:${name}}:status`,
    /** Hash of the latest snapshot's outcome: `requestId`, `requestedAt`, `cluster:<name>` → JSON. */
    serverSnapshot: (name: string) => `${prefix}:{server:${name}}:snapshot`,
    /** List of dead-lettered deliveries of one server, newest first. */
    deadLetters: (name: string) => `${prefix}:{server:${name}}:dead-letters`,
    /** List of the latest delivery attempts to one server, newest first (capped). */
    deliveries: (name: string) => `${prefix}:{server:${name}}:deliveries`,
    /** resourceVersion of the newest event of one object bound for a server while a retry of it waits. */
    serverLatest: (name: string, uid: string) => `${prefix}:{server:${name}}:latest:${uid}`,
    /** Pub/sub channel announcing that a cluster or server changed. */
    changes: `${prefix}:changed`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;
