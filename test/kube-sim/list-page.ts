import { keyOf } from "./kube-object.js";
import { type ResourceDef, apiVersionOf } from "./resources.js";
import { type ObjectFilter, matches } from "./selectors.js";
import type { SimCluster } from "./sim-cluster.js";
import { badRequest, expired } from "./status-error.js";

interface ContinueToken {
  rv: number;
  after: string;
}

function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as ContinueToken;
    if (Number.isInteger(t.rv) && typeof t.after === "string") return t;
  } catch {
    // answered below
  }
  throw badRequest("invalid continue token");
}

/**
 * A list, paged by `limit`/`continue`. The continue token holds the list's resourceVersion and the
 * last key served, so every page comes from the same snapshot (changes since are undone from
 * history); once history is compacted past it the token is 410 Expired, as with etcd.
 */
export function listPage(cluster: SimCluster, def: ResourceDef, filter: ObjectFilter, query: URLSearchParams) {
  const token = query.get("continue");
  const pos = token ? decodeContinue(token) : undefined;
  if (pos && pos.rv < cluster.compactedRv) {
    throw expired("The provided continue parameter is too old to display a consistent list result.");
  }
  let exact: number | undefined;
  if (query.get("resourceVersionMatch") === "Exact" && !pos) {
    const given = query.get("resourceVersion") ?? "";
    if (!/^\d+$/.test(given)) throw badRequest("resourceVersionMatch=Exact needs a resourceVersion");
    exact = Number(given);
  }
  const rv = pos?.rv ?? exact ?? Number(cluster.resourceVersion);
  const after = pos?.after ?? "";
  const all = cluster.snapshot(def, rv).filter((o) => matches(filter, o) && keyOf(o) > after);
  const limit = Number.parseInt(query.get("limit") ?? "", 10);
  const page = limit > 0 ? all.slice(0, limit) : all;
  const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
  const last = page.at(-1);
  if (page.length < all.length && last) {
    metadata.continue = Buffer.from(JSON.stringify({ rv, after: keyOf(last) } satisfies ContinueToken)).toString(
      "base64url",
    );
    metadata.remainingItemCount = all.length - page.length;
  }
  // Like the real apiserver, list items carry no apiVersion/kind: the list does.
  const items = page.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
  return { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata, items };
}
