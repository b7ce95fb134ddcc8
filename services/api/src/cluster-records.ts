import {
  type ClusterInput,
  type Connection,
  KubeconfigError,
  type ResourceStatus,
  type SecretBox,
  type StoredCluster,
  ValidationError,
  parseKubeconfig,
  sealContext,
} from "@mcic/core";
import { validate } from "./body.js";
import { requestEgressPolicy } from "./egress-scope.js";
import { credentialsInClear, endpointProblems } from "./endpoint-checks.js";
import { applyMergePatch } from "./merge-patch.js";
import { CLUSTER_CONNECTION_FIELDS, ClusterSettingsSchema } from "./patch-schemas.js";
import { requireSameName } from "./route-parts.js";
import { ClusterBody, type ClusterView } from "./schemas.js";

function connectionOf(input: ClusterInput): Connection {
  if (input.kubeconfig !== undefined) {
    let conn: Connection;
    try {
      conn = parseKubeconfig(input.kubeconfig, input.context);
    } catch (err) {
      if (err instanceof KubeconfigError) {
        throw new ValidationError("kubeconfig is not usable", [{ path: err.path, message: err.message }]);
      }
      throw err;
    }
    const problems = endpointProblems(conn.server, requestEgressPolicy());
    const inClear = credentialsInClear(
      conn.server,
      conn.token !== undefined ? "a token" : conn.certData !== undefined ? "a client certificate" : undefined,
    );
    if (inClear) problems.push(inClear);
    if (problems.length > 0) {
      throw new ValidationError(
        "kubeconfig is not usable",
        problems.map((p) => ({ path: "kubeconfig", message: `kubeconfig cluster server: ${p}` })),
      );
    }
    return conn;
  }
  const conn: Connection = { server: (input.server as string).replace(/\/$/, "") };
  if (input.token !== undefined) conn.token = input.token;
  if (input.caData !== undefined) conn.caData = Buffer.from(input.caData, "base64").toString("utf8");
  if (input.insecureSkipTLSVerify) conn.insecureSkipTLSVerify = true;
  return conn;
}

/** Validated input → the record stored in Redis, credentials sealed. */
export function toStoredCluster(input: ClusterInput, box: SecretBox, now: Date, createdAt?: string): StoredCluster {
  const stored: StoredCluster = {
    name: input.name,
    resources: [],
    source: input.kubeconfig !== undefined ? "kubeconfig" : "server",
    credentials: box.seal(JSON.stringify(connectionOf(input)), sealContext.clusterCredentials(input.name)),
    createdAt: createdAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
  };
  if (input.context) stored.context = input.context;
  return withSettings(stored, input);
}

/** The watch settings of a cluster (resources, namespaces, label selector), deduplicated. */
function withSettings(
  base: StoredCluster,
  input: Pick<ClusterInput, "resources" | "namespaces" | "labelSelector">,
): StoredCluster {
  const { namespaces: _n, labelSelector: _l, ...rest } = base;
  const stored: StoredCluster = { ...rest, resources: [...new Set(input.resources)] };
  if (input.namespaces?.length) stored.namespaces = [...new Set(input.namespaces)];
  if (input.labelSelector) stored.labelSelector = input.labelSelector;
  return stored;
}

/**
 * A stored cluster with a merge patch applied (see ClusterPatchBody): the watch settings merge;
 * the connection is kept unless the patch names one of its fields, and then it is what the patch
 * gives, complete. Validated like a PUT body (ValidationError); `name` must stay `name`.
 */
export function patchCluster(
  current: StoredCluster,
  patch: Record<string, unknown>,
  box: SecretBox,
  now: Date,
): StoredCluster {
  const doc: Record<string, unknown> = { name: current.name, resources: current.resources };
  if (current.namespaces) doc.namespaces = current.namespaces;
  if (current.labelSelector) doc.labelSelector = current.labelSelector;
  const merged = applyMergePatch(doc, patch);
  if (CLUSTER_CONNECTION_FIELDS.some((f) => Object.hasOwn(patch, f))) {
    const input = validate(ClusterBody, merged);
    requireSameName(input.name, current.name);
    return toStoredCluster(input, box, now, current.createdAt);
  }
  const settings = validate(ClusterSettingsSchema, merged);
  requireSameName(settings.name, current.name);
  return { ...withSettings(current, settings), updatedAt: now.toISOString() };
}

export function toClusterView(c: StoredCluster, status?: ResourceStatus[]): ClusterView {
  const view: ClusterView = {
    name: c.name,
    resources: c.resources,
    source: c.source,
    credentials: "stored",
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
  if (c.namespaces) view.namespaces = c.namespaces;
  if (c.labelSelector) view.labelSelector = c.labelSelector;
  if (c.context) view.context = c.context;
  if (status) {
    // Resources the watcher has not reported on yet are pending, so the list is always complete.
    const byName = new Map(status.map((s) => [s.resource, s]));
    const resources = c.resources.map((r): ResourceStatus => byName.get(r) ?? { resource: r, state: "pending" });
    view.status = { state: worstState(resources), resources };
    const last = resources
      .map((r) => r.lastEventAt ?? "")
      .sort()
      .at(-1);
    if (last) view.status.lastEventAt = last;
  }
  return view;
}

const SEVERITY: ResourceStatus["state"][] = ["watching", "syncing", "pending", "error"];

/** What a cluster's summary shows: its worst resource, so one failing watch is never hidden. */
function worstState(resources: ResourceStatus[]): ResourceStatus["state"] {
  let worst = 0;
  for (const r of resources) worst = Math.max(worst, SEVERITY.indexOf(r.state));
  return SEVERITY[worst] ?? "pending";
}
