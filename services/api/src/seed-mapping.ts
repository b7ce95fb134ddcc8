import {
  EVENT_TYPES,
  type FieldError,
  type Logger,
  type SecretBox,
  type StoredCluster,
  type StoredServer,
  ValidationError,
  fieldErrors,
  sealContext,
} from "@mcic/core";
import type { z } from "zod";
import { toStoredCluster } from "./cluster-records.js";
import { ClusterBody } from "./schemas.js";
import { ServerBody } from "./server-schemas.js";
import { SEED_EVENT_WORDS, type SeedInput, type SeedView, namespaceList } from "./seed-schemas.js";

// How the prototype's one-body configuration maps onto a cluster and its servers, and back.

/** Names the seed field behind a field of the cluster or server input it was mapped to. */
function renamed(errors: FieldError[], names: Record<string, string>): FieldError[] {
  return errors.map((e) => {
    const [head, ...rest] = e.path.split(".");
    const mapped = names[head ?? ""];
    return mapped ? { ...e, path: [mapped, ...rest].join(".") } : e;
  });
}

function check<S extends z.ZodType>(schema: S, value: unknown, names: Record<string, string>): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError("request body is invalid", renamed(fieldErrors(result.error), names));
  return result.data;
}

export const serverName = (cluster: string, i: number) => `${cluster}-${i}`;

/** The servers a seed mapping made for a cluster: `<cluster>-<i>`, filtered to that cluster alone. */
export function seedServersOf(cluster: string, servers: StoredServer[]): StoredServer[] {
  const pattern = new RegExp(`^${cluster}-(\\d+)$`);
  return servers
    .filter((s) => pattern.test(s.name) && s.filters.clusters?.length === 1 && s.filters.clusters[0] === cluster)
    .sort((a, b) => Number(pattern.exec(a.name)?.[1]) - Number(pattern.exec(b.name)?.[1]));
}

function eventTypesOf(input: SeedInput) {
  const wanted = new Set((input.WatchEvents ?? []).map((w) => SEED_EVENT_WORDS[w as keyof typeof SEED_EVENT_WORDS]));
  return EVENT_TYPES.filter((t) => wanted.has(t));
}

/**
 * The cluster and servers a seed body stands for, validated as if posted to /api/v1: the same
 * endpoint checks (egress policy, no userinfo, no token over http), errors named by seed field.
 */
export function plan(input: SeedInput, box: SecretBox, now: Date, previous?: StoredCluster) {
  const namespaces = namespaceList(input.Namespaces);
  const clusterInput = check(
    ClusterBody,
    {
      name: input.ClusterName,
      server: input.KubeURL,
      ...(input.KubeServAcctToken !== undefined ? { token: input.KubeServAcctToken } : {}),
      ...(namespaces.length > 0 ? { namespaces } : {}),
      resources: ["ingresses"],
    },
    { name: "ClusterName", server: "KubeURL", token: "KubeServAcctToken", namespaces: "Namespaces" },
  );
  const eventTypes = eventTypesOf(input);
  const servers = input.ServerURL.map((url, i) =>
    check(
      ServerBody,
      {
        name: serverName(input.ClusterName, i),
        url,
        filters: { clusters: [input.ClusterName], ...(eventTypes.length > 0 ? { eventTypes } : {}) },
      },
      { name: "ClusterName", url: `ServerURL.${i}` },
    ),
  );
  return { cluster: toStoredCluster(clusterInput, box, now, previous?.createdAt), servers, eventTypes };
}

/** Runs undo steps newest first; a failing step is logged, the others still run. */
export async function rollback(undo: (() => Promise<void>)[], logger: Logger): Promise<void> {
  for (const step of undo.reverse()) {
    await step().catch((err: unknown) => logger.error({ err }, "seed-compat rollback step failed"));
  }
}

export function view(
  cluster: StoredCluster,
  servers: StoredServer[],
  box: SecretBox,
  secrets: Map<string, string> = new Map(),
): SeedView {
  const connection = JSON.parse(box.open(cluster.credentials, sealContext.clusterCredentials(cluster.name))) as {
    server: string;
  };
  return {
    ClusterName: cluster.name,
    KubeURL: connection.server,
    Namespaces: cluster.namespaces ?? [],
    ServerURL: servers.map((s) => s.url),
    WatchEvents: servers[0]?.filters.eventTypes ?? [],
    Servers: servers.map((s) => {
      const secret = secrets.get(s.name);
      return { name: s.name, url: s.url, ...(secret ? { secret } : {}) };
    }),
  };
}
