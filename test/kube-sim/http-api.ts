import type { IncomingMessage, ServerResponse } from "node:http";
import { discovery } from "./discovery.js";
import type { KubeObject } from "./kube-object.js";
import { listPage } from "./list-page.js";
import { mergePatch } from "./merge-patch.js";
import { type ResourceDef, resourceKey } from "./resources.js";
import { parseFilter } from "./selectors.js";
import type { SimCluster } from "./sim-cluster.js";
import { StatusError, badRequest, notFound } from "./status-error.js";
import { serveWatch } from "./watch-stream.js";

export interface HttpApiOptions {
  tokens: string[];
  bookmarkIntervalMs: number;
  /** The virtual cluster of that name, if it exists; "default" always does. */
  findCluster(name: string): SimCluster | undefined;
}

interface Target {
  cluster: SimCluster;
  def: ResourceDef;
  namespace: string | undefined;
  name: string | undefined;
}

type Json = Record<string, any>;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
}

function authorized(req: IncomingMessage, tokens: string[]): boolean {
  if (tokens.length === 0) return true;
  const m = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return m !== null && tokens.includes(m[1] as string);
}

function splitPath(pathname: string): string[] {
  try {
    return pathname.split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    throw badRequest(`malformed path ${pathname}`);
  }
}

/** "/apis/<g>/<v>[/namespaces/<ns>]/<resource>[/<name>]" and the "/api/v1/..." forms. */
function resolveTarget(cluster: SimCluster, segments: string[]): Target {
  const [root, a, b] = segments;
  let rest: string[];
  let group = "";
  let version: string;
  if (root === "api" && a) [version, rest] = [a, segments.slice(2)];
  else if (root === "apis" && a && b) [group, version, rest] = [a, b, segments.slice(3)];
  else throw notFound(`/${segments.join("/")}`);
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) [namespace, rest] = [rest[1], rest.slice(2)];
  const [resource, name, subresource] = rest;
  const def = resource && subresource === undefined ? cluster.lookup(group, version, resource) : undefined;
  if (!def || (namespace !== undefined && !def.namespaced)) throw notFound(`/${segments.join("/")}`);
  return { cluster, def, namespace, name };
}

async function readJson(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw badRequest("the request body must be a JSON object");
  return body as Json;
}

const namespaceMismatch = () =>
  new StatusError(
    422,
    "Invalid",
    "the namespace of the provided object does not match the namespace sent on the request",
  );

/** Puts the URL's namespace and name into a written body, refusing bodies that say otherwise. */
function placeBody(t: Target, body: Json): Json {
  const meta: Json = body.metadata !== null && typeof body.metadata === "object" ? body.metadata : {};
  if (t.namespace !== undefined) {
    if (meta.namespace && meta.namespace !== t.namespace) throw namespaceMismatch();
    meta.namespace = t.namespace;
  }
  if (t.name !== undefined) {
    if (meta.name && meta.name !== t.name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${t.name})`);
    }
    meta.name = t.name;
  }
  return { ...body, metadata: meta };
}

async function patch(t: Target, req: IncomingMessage, name: string): Promise<KubeObject> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim();
  // Strategic merge differs from merge patch only for lists with merge keys; close enough here.
  if (type !== "application/merge-patch+json" && type !== "application/strategic-merge-patch+json") {
    throw new StatusError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json`,
    );
  }
  const body = await readJson(req);
  const current = t.cluster.get(resourceKey(t.def), t.namespace, name);
  if (!current) throw new StatusError(404, "NotFound", `${t.def.resource} "${name}" not found`);
  const next = placeBody(t, mergePatch(current, body) as Json);
  // A patch applies to the current version unless it names one as a precondition.
  next.metadata.resourceVersion = body.metadata?.resourceVersion ?? current.metadata.resourceVersion;
  return t.cluster.update(resourceKey(t.def), next);
}

async function serveResource(
  t: Target,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  options: HttpApiOptions,
) {
  const { cluster, def, namespace, name } = t;
  const key = resourceKey(def);
  const method = req.method ?? "GET";
  if (name === undefined) {
    if (method === "GET") {
      const filter = parseFilter(query, namespace);
      const watching = query.get("watch") === "true" || query.get("watch") === "1";
      if (watching) return serveWatch(cluster, def, filter, query, res, options);
      return sendJson(res, 200, listPage(cluster, def, filter, query));
    }
    if (method === "POST") return sendJson(res, 201, cluster.create(key, placeBody(t, await readJson(req))));
  } else {
    if (method === "GET") {
      const o = cluster.get(key, namespace, name);
      if (!o) throw new StatusError(404, "NotFound", `${def.resource} "${name}" not found`);
      return sendJson(res, 200, o);
    }
    if (method === "PUT") return sendJson(res, 200, cluster.update(key, placeBody(t, await readJson(req))));
    if (method === "PATCH") return sendJson(res, 200, await patch(t, req, name));
    if (method === "DELETE") return sendJson(res, 200, cluster.delete(key, namespace, name));
  }
  throw new StatusError(405, "MethodNotAllowed", `${method} is not supported on ${req.url}`);
}

/** The request listener: one Kubernetes API per virtual cluster, the default one at the root. */
export function createHttpApi(options: HttpApiOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      if (!authorized(req, options.tokens)) throw new StatusError(401, "Unauthorized", "Unauthorized");
      const url = new URL(req.url ?? "/", "http://kube-sim");
      let segments = splitPath(url.pathname);
      let cluster = options.findCluster("default");
      if (segments[0] === "clusters" && segments[1] !== undefined) {
        cluster = options.findCluster(segments[1]);
        if (!cluster) throw notFound(`cluster ${segments[1]}`);
        segments = segments.slice(2);
      }
      if (!cluster) throw notFound("cluster default");
      if (segments.length === 1 && ["healthz", "livez", "readyz"].includes(segments[0] as string)) {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok");
        return;
      }
      const doc = req.method === "GET" ? discovery(cluster, segments) : undefined;
      if (doc !== undefined) return sendJson(res, 200, doc);
      await serveResource(resolveTarget(cluster, segments), req, res, url.searchParams, options);
    })().catch((err: unknown) => {
      const status =
        err instanceof StatusError ? err : new StatusError(500, "InternalError", (err as Error)?.message ?? "error");
      if (res.headersSent) res.destroy();
      else sendJson(res, status.code, status.toStatus());
    });
  };
}
