import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig } from "@asteasolutions/zod-to-openapi";
import { NotFoundError, ValidationError, fieldErrors } from "@mcic/core";
import { Router, type RouterContext } from "@koa/router";
import { z } from "zod";
import { readBody, readOptionalBody } from "./body.js";
import { ProblemSchema } from "./schemas.js";

type Method = "get" | "post" | "put" | "delete";
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface ResponseSpec {
  description: string;
  /** JSON body schema (application/json unless `contentType` says otherwise). */
  schema?: z.ZodType;
  contentType?: string;
  headers?: Record<string, { description: string; schema: { type: "string" | "integer" } }>;
}

export interface RouteSpec<
  P extends z.ZodObject | undefined,
  Q extends z.ZodObject | undefined,
  B extends z.ZodType | undefined,
> {
  method: Method;
  /** OpenAPI form, `/api/v1/servers/{name}`; the router gets `/api/v1/servers/:name`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Reachable without a bearer token even when API_TOKENS is set. */
  open?: boolean;
  /** Path parameters; a value that fails them is answered 404 (it cannot name anything stored). */
  params?: P;
  /** What a bad path parameter cannot name, for the 404 ("cluster", "server"). */
  what?: string;
  /**
   * Query parameters; failures are 400 naming the parameter. Routes without one refuse any query
   * parameter (unknown fields are errors, in the query as in bodies) unless `anyQuery` is set.
   */
  query?: Q;
  /** Ignore the query string (health checks, metrics and docs, which tools call with extras). */
  anyQuery?: boolean;
  /** JSON body; failures are 400 naming each field. */
  body?: B;
  /** The body may be left out entirely (it is then validated as `{}`). */
  bodyOptional?: boolean;
  examples?: Record<string, { summary: string; value: unknown }>;
  responses: Record<number, ResponseSpec>;
  handler: (ctx: RouterContext, input: { params: Out<P>; query: Out<Q>; body: Out<B> }) => unknown | Promise<unknown>;
}

const problemResponse = (description: string): ResponseConfig => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/**
 * One place that mounts a route on the Koa router and describes it in the OpenAPI document, from
 * the same zod schemas that validate its parameters and body: the document cannot drift from what
 * the routes accept.
 */
export class ApiRoutes {
  readonly router = new Router();
  readonly docs = new OpenAPIRegistry();
  /** Router paths reachable without a token. */
  readonly openPaths = new Set<string>();
  /** Every route added, as given (tests check the document and examples against them). */
  readonly specs: RouteSpec<any, any, any>[] = [];
  #document: object | undefined;

  constructor() {
    this.docs.registerComponent("securitySchemes", "bearerAuth", {
      type: "http",
      scheme: "bearer",
      description: "one of the tokens in API_TOKENS (when API_TOKENS is empty the API is open)",
    });
  }

  add<P extends z.ZodObject | undefined, Q extends z.ZodObject | undefined, B extends z.ZodType | undefined>(
    spec: RouteSpec<P, Q, B>,
  ): void {
    const routerPath = spec.path.replace(/\{(\w+)\}/g, ":$1");
    if (spec.open) this.openPaths.add(routerPath);
    this.specs.push(spec);
    this.#describe(spec);
    this.router[spec.method](routerPath, async (ctx) => {
      const params = spec.params ? parsePath(spec.params, ctx.params, spec.what ?? "resource") : undefined;
      const query = spec.anyQuery ? undefined : parseQuery(spec.query ?? NO_QUERY, ctx.query);
      let body: unknown;
      if (spec.body) body = spec.bodyOptional ? await readOptionalBody(ctx, spec.body) : await readBody(ctx, spec.body);
      await spec.handler(ctx, { params, query, body } as { params: Out<P>; query: Out<Q>; body: Out<B> });
    });
  }

  #describe(spec: RouteSpec<any, any, any>): void {
    const responses: Record<string, ResponseConfig> = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      if (!r.schema && Number(status) >= 400) {
        responses[status] = problemResponse(r.description);
        continue;
      }
      const config: ResponseConfig = { description: r.description };
      if (r.schema) config.content = { [r.contentType ?? "application/json"]: { schema: r.schema } };
      else if (r.contentType) config.content = { [r.contentType]: { schema: { type: "string" } } };
      if (r.headers) config.headers = r.headers;
      responses[status] = config;
    }
    const add = (status: number, description: string) => {
      responses[status] ??= problemResponse(description);
    };
    if (!spec.anyQuery || spec.body)
      add(400, "invalid input (or an unknown query parameter); `errors[]` names each field");
    if (!spec.open) add(401, "missing or wrong bearer token (when API_TOKENS is set)");
    if (spec.params) add(404, `no such ${spec.what ?? "resource"}`);
    if (spec.body) {
      add(413, "body over 1 MiB");
      add(415, "body is not application/json");
    }
    add(500, "unexpected error (logged; details are not shown)");

    this.docs.registerPath({
      method: spec.method,
      path: spec.path,
      operationId: spec.operationId,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: [spec.tag],
      ...(spec.open ? { security: [] } : {}),
      request: {
        ...(spec.params ? { params: spec.params } : {}),
        ...(spec.query ? { query: spec.query } : {}),
        ...(spec.body
          ? {
              body: {
                required: !spec.bodyOptional,
                content: {
                  "application/json": { schema: spec.body, ...(spec.examples ? { examples: spec.examples } : {}) },
                },
              },
            }
          : {}),
      },
      responses,
    });
  }

  /** The OpenAPI 3.1 document (built once, on first use). */
  document(): object {
    this.#document ??= new OpenApiGeneratorV31(this.docs.definitions).generateDocument({
      openapi: "3.1.0",
      info: {
        title: "mcic API",
        version: "1.0.0",
        description:
          "Multicluster Kubernetes event controller: register clusters to watch and servers that receive their " +
          "changes as signed CloudEvents. Errors are RFC 9457 `application/problem+json`. With API_TOKENS set, " +
          "every route except /healthz, /readyz, /openapi.json and /swagger needs `Authorization: Bearer <token>`.\n\n" +
          "Servers receive signed CloudEvents (Standard Webhooks, `webhook-id` = event id): " +
          "`dev.mcic.<resource>.<added|modified|deleted>` whose `data` is the event envelope (snapshot events: " +
          "ADDED with `snapshot: true` and the snapshot's `requestId`), and, closing each snapshot per cluster " +
          "and resource, `dev.mcic.snapshot.completed` with id `snapshot/<requestId>/<cluster>/<group token>/" +
          "<resource>`, subject `<resource>` and `data` = `SnapshotCompletedData` `{cluster, group, version, " +
          "resource, requestId, count, resourceVersion}`. It travels the same retried queue as the snapshot's " +
          "objects, so it may arrive before some of them: a receiver waits for `count` events of that " +
          "`requestId` (or a timeout) before dropping what the snapshot did not contain.",
      },
      security: [{ bearerAuth: [] }],
      tags: [
        { name: "clusters", description: "Kubernetes clusters to watch" },
        { name: "servers", description: "recipients of events" },
        { name: "deliveries", description: "delivery log, dead letters, replays, tests and resyncs of a server" },
        { name: "seed compatibility", description: "the Go prototype's registration route" },
        { name: "operations", description: "health, metrics and this document" },
      ],
    });
    return this.#document;
  }
}

const NO_QUERY = z.strictObject({});

function parsePath<S extends z.ZodObject>(schema: S, raw: Record<string, string>, what: string): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new NotFoundError(what, Object.values(raw).join("/"));
  return result.data;
}

function parseQuery<S extends z.ZodObject>(schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ValidationError("query parameters are invalid", fieldErrors(result.error));
  return result.data;
}

/** Turns `/api/v1/servers/:name` into `/api/v1/servers/{name}`. */
export function toOpenApiPath(routerPath: string): string {
  return routerPath.replace(/:(\w+)/g, "{$1}");
}
