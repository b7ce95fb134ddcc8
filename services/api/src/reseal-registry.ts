import {
  type Logger,
  NotFoundError,
  type Registry,
  type SecretBox,
  type StoredCluster,
  type StoredServer,
  sealContext,
} from "@mcic/core";

export interface ResealCounts {
  /** Records with at least one value sealed anew under the current key. */
  resealed: number;
  /** Records already sealed the current way: left untouched. */
  current: number;
  /** Records with a value neither key opens: left untouched, named in the log. */
  failed: number;
}

export interface ResealReport {
  clusters: ResealCounts;
  servers: ResealCounts;
}

/** One sealed field of a record: how to read it, and the record with it replaced. */
interface SealedField<T> {
  context: (name: string) => string;
  get: (record: T) => string | undefined;
  set: (record: T, sealed: string) => T;
}

const CLUSTER_FIELDS: SealedField<StoredCluster>[] = [
  {
    context: sealContext.clusterCredentials,
    get: (c) => c.credentials,
    set: (c, credentials) => ({ ...c, credentials }),
  },
];

const SERVER_FIELDS: SealedField<StoredServer>[] = [
  { context: sealContext.serverSecret, get: (s) => s.secret, set: (s, secret) => ({ ...s, secret }) },
  { context: sealContext.serverHeaders, get: (s) => s.headers, set: (s, headers) => ({ ...s, headers }) },
  {
    context: sealContext.serverPreviousSecret,
    get: (s) => s.previousSecret,
    set: (s, previousSecret) => ({ ...s, previousSecret }),
  },
];

/**
 * The re-seal step of an MCIC_SECRET_KEY rotation: every cluster credential and server secret,
 * header set and previous secret not yet sealed under the current key (`box` holds the new key
 * and the previous one) is sealed again under it. Each record is rewritten through the Registry's
 * atomic update, keeping its `updatedAt` (nothing a user registered changed, so watchers do not
 * restart their watches). Idempotent: a second run finds everything current.
 */
export async function resealRegistry(registry: Registry, box: SecretBox, logger: Logger): Promise<ResealReport> {
  const clusters = await resealAll(
    await registry.clusterNames(),
    (name, change) => registry.updateCluster(name, change),
    CLUSTER_FIELDS,
    box,
    logger.child({ kind: "cluster" }),
  );
  const servers = await resealAll(
    (await registry.listServers()).map((s) => s.name),
    (name, change) => registry.updateServer(name, change),
    SERVER_FIELDS,
    box,
    logger.child({ kind: "server" }),
  );
  return { clusters, servers };
}

async function resealAll<T extends { name: string }>(
  names: string[],
  update: (name: string, change: (record: T) => T | undefined) => Promise<T | undefined>,
  fields: SealedField<T>[],
  box: SecretBox,
  logger: Logger,
): Promise<ResealCounts> {
  const counts: ResealCounts = { resealed: 0, current: 0, failed: 0 };
  for (const name of names) {
    try {
      const written = await update(name, (record) => resealed(record, fields, box));
      if (written) counts.resealed++;
      else counts.current++;
    } catch (err) {
      // Deleted since it was listed: nothing left to re-seal.
      if (err instanceof NotFoundError) continue;
      counts.failed++;
      logger.error({ name, err: (err as Error).message }, "cannot re-seal record; left as it is");
    }
  }
  return counts;
}

/** The record with every field sealed under the current key, or undefined when all already are. */
function resealed<T extends { name: string }>(record: T, fields: SealedField<T>[], box: SecretBox): T | undefined {
  let next = record;
  let changed = false;
  for (const field of fields) {
    const sealed = field.get(record);
    if (sealed === undefined) continue;
    const context = field.context(record.name);
    if (box.isCurrent(sealed, context)) continue;
    next = field.set(next, box.seal(box.open(sealed, context), context));
    changed = true;
  }
  return changed ? next : undefined;
}
