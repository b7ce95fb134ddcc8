import { readFile } from "node:fs/promises";
import { NotFoundError } from "@mcic/core";
import type { Context } from "koa";
import { z } from "zod";
import type { ApiRoutes } from "../routing.js";
import { UI_CSS, UI_HTML } from "../ui/page.js";

/**
 * Only what the page loads, from this server: no inline script or style, no other origin, and the
 * page cannot be framed. The data routes it calls need the bearer token; these files do not.
 */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'";

/** The page's ES modules (app.js imports the others), beside this module's parent: src/ui/ from source, dist/ui/ when built. */
const SCRIPTS = ["app.js", "chart.js", "dom.js", "live.js", "tables.js"];
const scripts = new Map<string, Promise<Buffer>>();

function secured(ctx: Context, type: string): void {
  ctx.set("Content-Security-Policy", UI_CSP);
  ctx.set("X-Content-Type-Options", "nosniff");
  ctx.set("Referrer-Policy", "no-referrer");
  ctx.set("Cache-Control", "no-cache");
  ctx.type = type;
}

const UiFileParams = z.object({
  file: z
    .string()
    .regex(/^[a-z0-9.-]+$/)
    .meta({ description: "a file of the status page", example: "app.js" }),
});

export function mountUiRoutes(routes: ApiRoutes): void {
  const tag = "operations";

  routes.add({
    method: "get",
    path: "/ui",
    operationId: "getStatusPage",
    summary: "The status page (clusters, servers, events/s, live tail)",
    description:
      "Served without a token; the page asks for one when the API answers 401 and keeps it in the tab's " +
      "session storage. Works offline (no CDN).",
    tag,
    open: true,
    anyQuery: true,
    responses: { 200: { description: "the page", contentType: "text/html" } },
    handler: (ctx) => {
      secured(ctx, "text/html; charset=utf-8");
      ctx.body = UI_HTML;
    },
  });

  routes.add({
    method: "get",
    path: "/ui/{file}",
    operationId: "getStatusPageFile",
    summary: "Files of the status page",
    tag,
    open: true,
    anyQuery: true,
    params: UiFileParams,
    what: "file",
    responses: { 200: { description: "the file", contentType: "application/octet-stream" } },
    handler: async (ctx, { params }) => {
      if (params.file === "style.css") {
        secured(ctx, "text/css; charset=utf-8");
        ctx.body = UI_CSS;
        return;
      }
      if (!SCRIPTS.includes(params.file)) throw new NotFoundError("file", params.file);
      let script = scripts.get(params.file);
      if (!script) {
        script = readFile(new URL(`../ui/${params.file}`, import.meta.url));
        scripts.set(params.file, script);
      }
      const body = await script.catch((err: unknown) => {
        scripts.delete(params.file);
        throw err;
      });
      secured(ctx, "text/javascript; charset=utf-8");
      ctx.body = body;
    },
  });
}
