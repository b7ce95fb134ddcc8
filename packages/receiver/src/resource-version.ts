const DECIMAL = /^(0|[1-9]\d{0,39})$/;

/**
 * Whether resourceVersion `a` is newer than `b`. Kubernetes calls resourceVersions opaque; what a
 * receiver can rely on is the order mcic delivers in (per object, in resourceVersion order while
 * healthy). etcd-backed API servers (and kube-sim) give decimal revisions that grow with every
 * write, so two decimal versions are compared as integers: an older one arriving late (a retry, a
 * replay, a second dispatcher) is recognised. When either is not decimal no order can be read from
 * it, so a different version is taken as newer (the delivery order decides) and an equal one is not.
 */
export function isNewer(a: string, b: string): boolean {
  if (DECIMAL.test(a) && DECIMAL.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}

/** The later of two versions by the same rule; `b` when they cannot be ordered. */
export function laterOf(a: string, b: string): string {
  return DECIMAL.test(a) && DECIMAL.test(b) && BigInt(a) > BigInt(b) ? a : b;
}

/** True when both are decimal and `a` is newer: used where "cannot tell" must not count as newer. */
export function isProvablyNewer(a: string, b: string): boolean {
  return DECIMAL.test(a) && DECIMAL.test(b) && BigInt(a) > BigInt(b);
}
