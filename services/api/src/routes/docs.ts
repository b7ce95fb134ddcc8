import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { NotFoundError } from "@mcic/core";
import { z } from "zod";
import type { ApiRoutes } from "../routing.js";

/** swagger-ui-dist files the page needs; nothing else in that directory is served. */
const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
  "favicon-16x16.png": "image/png",
};

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>mcic API</title>
    <link rel="stylesheet" href="/swagger-ui/swagger-ui.css">
    <link rel="icon" type="image/png" href="/swagger-ui/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/swagger-ui/swagger-ui-bundle.js"></script>
    <script src="/swagger-ui/init.js"></script>
  </body>
</html>
`;

// validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
const INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  validatorUrl: null,
  displayRequestDuration: true,
});
`;

/** Everything the page loads comes from this server: no CDN, no inline script. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const assetDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const cache = new Map<string, Buffer>();

async function asset(file: string): Promise<Buffer> {
  let data = cache.get(file);
  if (!data) {
    data = await readFile(join(assetDir, file));
    cache.set(file, data);
  }
  return data;
}

const AssetParams = z.object({
  file: z
    .string()
    .regex(/^[a-z0-9.-]+$/)
    .meta({ description: "a Swagger UI asset", example: "swagger-ui-bundle.js" }),
});

export function mountDocRoutes(routes: ApiRoutes): void {
  const tag = "operations";

  routes.add({
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApi",
    summary: "This OpenAPI 3.1 document",
    tag,
    open: true,
    anyQuery: true,
    responses: { 200: { description: "the document", contentType: "application/json" } },
    handler: (ctx) => {
      ctx.body = routes.document();
    },
  });

  routes.add({
    method: "get",
    path: "/swagger",
    operationId: "getSwaggerUi",
    summary: "Swagger UI for this API (served from this server, works offline)",
    tag,
    open: true,
    anyQuery: true,
    responses: { 200: { description: "the page", contentType: "text/html" } },
    handler: (ctx) => {
      ctx.set("Content-Security-Policy", CSP);
      ctx.type = "text/html; charset=utf-8";
      ctx.body = PAGE;
    },
  });

  routes.add({
    method: "get",
    path: "/swagger-ui/{file}",
    operationId: "getSwaggerUiAsset",
    summary: "Files of Swagger UI",
    tag,
    open: true,
    anyQuery: true,
    params: AssetParams,
    what: "file",
    responses: { 200: { description: "the file", contentType: "application/octet-stream" } },
    handler: async (ctx, { params }) => {
      ctx.set("Cache-Control", "public, max-age=3600");
      if (params.file === "init.js") {
        ctx.type = "text/javascript; charset=utf-8";
        ctx.body = INIT;
        return;
      }
      const type = Object.hasOwn(ASSETS, params.file) ? ASSETS[params.file] : undefined;
      if (!type) throw new NotFoundError("file", params.file);
      ctx.type = type;
      ctx.body = await asset(params.file);
    },
  });
}
