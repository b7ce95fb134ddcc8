import type { IncomingMessage, ServerResponse } from "node:http";
import { type LabelSelector, parseLabelSelector } from "@mcic/core";
import { apiVersionOf, type ResourceDef } from "./resources.js";
import { type KubeObject, type SimCluster, StatusError, matches } from "./sim-cluster.js";

export interface HttpApiOptions {
  tokens: string[];
  bookmarkIntervalMs: number;
  cluster(name: string): SimCluster;
}

interface Target {
  cluster: SimCluster;
  rest: string[];
}

/** Splits "/clusters/<name>/apis/..." into the virtual cluster and the API path segments. */
function route(path: string, options: HttpApiOptions): Target {
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (segments[0] === "clusters" && segments[1])
    return { cluster: options.cluster(segments[1]), rest: segments.slice(2) };
  return { cluster: options.cluster("default"), rest: segments };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
}

async function readBody(req: IncomingMessage): Promise<Record<string, any>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new StatusError(400, "BadRequest", "the request body is not valid JSON");
  }
}

function resourceList(groupVersion: string, defs: ResourceDef[]) {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion,
    resources: defs.map((d) => ({
      name: d.resource,
      singularName: d.kind.toLowerCase(),
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    })),
  };
}

/** Discovery endpoints; undefined when the path is not one. */
function discovery(cluster: SimCluster, rest: string[]): unknown {
  const defs = cluster.definitions();
  const path = rest.join("/");
  if (path === "version") return { major: "1", minor: "31", gitVersion: "v1.31.0-kube-sim", platform: "linux/amd64" };
  if (path === "api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] };
  if (path === "api/v1")
    return resourceList(
      "v1",
      defs.filter((d) => d.group === ""),
    );
  if (path === "apis") {
    const groups = new Map<string, Set<string>>();
    for (const d of defs) if (d.group) groups.set(d.group, (groups.get(d.group) ?? new Set()).add(d.version));
    return {
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: [...groups].map(([name, versions]) => {
        const list = [...versions].map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
        return { name, versions: list, preferredVersion: list[0] };
      }),
    };
  }
  if (rest[0] === "apis" && rest.length === 3) {
    const found = defs.filter((d) => d.group === rest[1] && d.version === rest[2]);
    if (found.length === 0)
      throw new StatusError(404, "NotFound", `the server could not find the requested resource (${path})`);
    return resourceList(`${rest[1]}/${rest[2]}`, found);
  }
  return undefined;
}

interface ResourcePath {
  def: ResourceDef;
  namespace?: string;
  name?: string;
}

function resourcePath(cluster: SimCluster, rest: string[]): ResourcePath {
  let group: string;
  let version: string;
  let tail: string[];
  if (rest[0] === "api" && rest[1]) [group, version, tail] = ["", rest[1], rest.slice(2)];
  else if (rest[0] === "apis" && rest[1] && rest[2]) [group, version, tail] = [rest[1], rest[2], rest.slice(3)];
  else throw new StatusError(404, "NotFound", `the server could not find the requested resource (/${rest.join("/")})`);
  let namespace: string | undefined;
  if (tail[0] === "namespaces" && tail.length >= 3) {
    namespace = tail[1];
    tail = tail.slice(2);
  }
  const [resource, name, extra] = tail;
  if (!resource || extra)
    throw new StatusError(404, "NotFound", `the server could not find the requested resource (/${rest.join("/")})`);
  const def = cluster.def(group ? `${group}/${version}/${resource}` : `${version}/${resource}`);
  if (def.group !== group || def.version !== version)
    throw new StatusError(404, "NotFound", `no ${resource} in ${group}/${version}`);
  if (namespace && !def.namespaced) throw new StatusError(404, "NotFound", `${resource} is not namespaced`);
  return { def, ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) };
}

function filterOf(query: URLSearchParams, namespace: string | undefined) {
  let selector: LabelSelector;
  try {
    selector = parseLabelSelector(query.get("labelSelector") ?? "");
  } catch (err) {
    throw new StatusError(400, "BadRequest", `unable to parse requirement: ${(err as Error).message}`);
  }
  let fieldName: string | undefined;
  let ns = namespace;
  for (const part of (query.get("fieldSelector") ?? "").split(",").filter(Boolean)) {
    const [field, value] = part.split(/==?/);
    if (field === "metadata.name") fieldName = value;
    else if (field === "metadata.namespace") ns = value;
    else throw new StatusError(400, "BadRequest", `field label not supported: ${field}`);
  }
  return {
    selector,
    ...(ns !== undefined ? { namespace: ns } : {}),
    ...(fieldName !== undefined ? { fieldName } : {}),
  };
}

interface ContinueToken {
  rv: number;
  after: string;
}

function list(cluster: SimCluster, p: ResourcePath, query: URLSearchParams) {
  const filter = filterOf(query, p.namespace);
  const limit = Number(query.get("limit") ?? 0);
  const token = query.get("continue");
  let after = "";
  let listRv = cluster.resourceVersion;
  if (token) {
    let parsed: ContinueToken;
    try {
      parsed = JSON.parse(Buffer.from(token, "base64url").toString()) as ContinueToken;
    } catch {
      throw new StatusError(400, "BadRequest", "invalid continue token");
    }
    if (parsed.rv < cluster.compactedRv) {
      throw new StatusError(
        410,
        "Expired",
        "The provided continue parameter is too old to display a consistent list result.",
      );
    }
    after = parsed.after;
    listRv = String(parsed.rv);
  }
  const all = cluster.select(p.def, filter).filter((o) => keyOf(o) > after);
  const page = limit > 0 ? all.slice(0, limit) : all;
  const metadata: Record<string, unknown> = { resourceVersion: listRv };
  if (page.length < all.length) {
    const last = page.at(-1) as KubeObject;
    metadata.continue = Buffer.from(JSON.stringify({ rv: Number(listRv), after: keyOf(last) })).toString("base64url");
    metadata.remainingItemCount = all.length - page.length;
  }
  // Like the real apiserver, list items carry no apiVersion/kind: the list does.
  const items = page.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
  return { kind: `${p.def.kind}List`, apiVersion: apiVersionOf(p.def), metadata, items };
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

function watch(
  cluster: SimCluster,
  p: ResourcePath,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpApiOptions,
  open: Set<() => void>,
): void {
  const filter = filterOf(query, p.namespace);
  res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
  // Clients wait for the headers before they consider the watch open; send them now, as
  // the real apiserver does, not with the first event.
  res.flushHeaders();
  const write = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
  const rvParam = query.get("resourceVersion") ?? "";
  let cleanup = () => {};
  const end = () => {
    cleanup();
    res.end();
  };
  if (rvParam === "" || rvParam === "0") {
    for (const o of cluster.select(p.def, filter)) write("ADDED", o);
  } else {
    const history = cluster.since(p.def, Number(rvParam));
    if (!history) {
      write(
        "ERROR",
        new StatusError(410, "Expired", `too old resource version: ${rvParam} (${cluster.compactedRv})`).toStatus(),
      );
      res.end();
      return;
    }
    for (const h of history) if (matches(filter, h.object)) write(h.type, h.object);
  }
  const unsubscribe = cluster.subscribe(p.def, { ...filter, send: (type, object) => write(type, object) });
  const timers: NodeJS.Timeout[] = [];
  if (query.get("allowWatchBookmarks") === "true") {
    timers.push(
      setInterval(() => {
        write("BOOKMARK", {
          kind: p.def.kind,
          apiVersion: apiVersionOf(p.def),
          metadata: { resourceVersion: cluster.resourceVersion },
        });
      }, options.bookmarkIntervalMs),
    );
  }
  const timeout = Number(query.get("timeoutSeconds") ?? 0);
  if (timeout > 0) timers.push(setTimeout(end, timeout * 1000));
  cleanup = () => {
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    open.delete(end);
  };
  open.add(end);
  req.on("close", cleanup);
}

/** Handles one request of the Kubernetes API for any virtual cluster. */
export async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpApiOptions,
  openWatches: (cluster: SimCluster) => Set<() => void>,
): Promise<void> {
  try {
    if (options.tokens.length > 0) {
      const auth = req.headers.authorization ?? "";
      if (!options.tokens.some((t) => auth === `Bearer ${t}`))
        throw new StatusError(401, "Unauthorized", "Unauthorized");
    }
    const url = new URL(req.url ?? "/", "http://sim");
    const { cluster, rest } = route(url.pathname, options);
    if (req.method === "GET") {
      const doc = discovery(cluster, rest);
      if (doc !== undefined) return send(res, 200, doc);
    }
    const p = resourcePath(cluster, rest);
    const q = url.searchParams;
    switch (req.method) {
      case "GET":
        if (p.name) {
          const o = cluster.get(
            `${p.def.group ? `${p.def.group}/` : ""}${p.def.version}/${p.def.resource}`,
            p.namespace,
            p.name,
          );
          if (!o) throw new StatusError(404, "NotFound", `${p.def.resource} "${p.name}" not found`);
          return send(res, 200, o);
        }
        if (q.get("watch") === "true" || q.get("watch") === "1")
          return watch(cluster, p, q, req, res, options, openWatches(cluster));
        return send(res, 200, list(cluster, p, q));
      case "POST": {
        if (p.name) throw new StatusError(405, "MethodNotAllowed", "POST to an item");
        const body = await readBody(req);
        if (p.namespace) {
          body.metadata ??= {};
          if (body.metadata.namespace && body.metadata.namespace !== p.namespace) {
            throw new StatusError(
              422,
              "Invalid",
              "the namespace of the provided object does not match the namespace sent on the request",
            );
          }
          body.metadata.namespace = p.namespace;
        }
        return send(res, 201, cluster.create(keyOfDef(p.def), body));
      }
      case "PUT":
      case "PATCH": {
        if (!p.name) throw new StatusError(405, "MethodNotAllowed", `${req.method} to a collection`);
        const body = await readBody(req);
        let next = body;
        if (req.method === "PATCH") {
          const current = cluster.get(keyOfDef(p.def), p.namespace, p.name);
          if (!current) throw new StatusError(404, "NotFound", `${p.def.resource} "${p.name}" not found`);
          next = mergePatch(current, body) as Record<string, any>;
          delete next.metadata.resourceVersion;
        }
        if (p.namespace && next.metadata?.namespace && next.metadata.namespace !== p.namespace) {
          throw new StatusError(
            422,
            "Invalid",
            "the namespace of the provided object does not match the namespace sent on the request",
          );
        }
        next.metadata = { ...next.metadata, name: p.name, ...(p.namespace ? { namespace: p.namespace } : {}) };
        return send(res, 200, cluster.update(keyOfDef(p.def), next));
      }
      case "DELETE":
        if (!p.name) throw new StatusError(405, "MethodNotAllowed", "DELETE of a collection");
        return send(res, 200, cluster.delete(keyOfDef(p.def), p.namespace, p.name));
      default:
        throw new StatusError(405, "MethodNotAllowed", `${req.method} not allowed`);
    }
  } catch (err) {
    if (err instanceof StatusError) return send(res, err.code, err.toStatus());
    send(res, 500, new StatusError(500, "InternalError", (err as Error).message).toStatus());
  }
}

function keyOfDef(d: ResourceDef): string {
  return d.group ? `${d.group}/${d.version}/${d.resource}` : `${d.version}/${d.resource}`;
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === "object" && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
