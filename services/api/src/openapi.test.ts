import { compileErrors, validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toOpenApiPath } from "./routing.js";
import { type Harness, startHarness } from "./test-harness.js";

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

describe("/openapi.json", () => {
  let h: Harness;
  let doc: any;

  beforeAll(async () => {
    h = await startHarness({ tokens: ["secret-token"] });
    // Open even with API_TOKENS set: it describes the API and holds no data.
    const res = await fetch(`${h.base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    doc = await res.json();
  });
  afterAll(async () => {
    await h.close();
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    expect(doc.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(doc));
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
    // The validator does look: a broken copy fails.
    const broken = structuredClone(doc);
    broken.paths["/healthz"].get.responses = { 200: { content: {} } };
    expect((await validate(broken)).valid).toBe(false);
  });

  it("lists exactly the routes the router has", () => {
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, item]) =>
        Object.keys(item)
          .filter((m) => METHODS.includes(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      )
      .sort();
    const routed = h.api.routes.router.stack
      .flatMap((layer) =>
        layer.methods.filter((m) => m !== "HEAD").map((m) => `${m} ${toOpenApiPath(String(layer.path))}`),
      )
      .sort();
    expect(documented).toEqual(routed);
    expect(routed).toEqual(
      expect.arrayContaining([
        "GET /api/v1/servers/{name}/deliveries",
        "GET /api/v1/servers/{name}/dead-letters",
        "POST /api/v1/servers/{name}/dead-letters/replay",
        "POST /api/v1/servers/{name}/test",
        "POST /api/v1/servers/{name}/resync",
        "POST /api/v1/servers/{name}/rotate-secret",
        "DELETE /cic/nitro/v1/config/controller",
        "GET /metrics",
        "GET /swagger",
      ]),
    );
    expect(routed).toHaveLength(26);
  });

  it("describes auth, errors as problem+json, parameters and bodies with examples", () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    const open = new Set(["/healthz", "/readyz", "/openapi.json", "/swagger", "/swagger-ui/{file}"]);
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method} ${path}`;
        expect(op.operationId, where).toEqual(expect.any(String));
        if (open.has(path)) expect(op.security, where).toEqual([]);
        else
          expect(op.responses["401"].content["application/problem+json"].schema, where).toEqual({
            $ref: "#/components/schemas/Problem",
          });
        for (const [status, r] of Object.entries(op.responses as Record<string, any>)) {
          if (Number(status) >= 400)
            expect(Object.keys(r.content ?? {}), `${where} ${status}`).toEqual(["application/problem+json"]);
        }
        for (const name of path.match(/\{(\w+)\}/g) ?? []) {
          expect(
            op.parameters.some((p: any) => p.in === "path" && `{${p.name}}` === name),
            where,
          ).toBe(true);
        }
        if (op.requestBody) {
          const media = op.requestBody.content["application/json"];
          expect(Object.keys(media.examples ?? {}).length, `${where} examples`).toBeGreaterThan(0);
          expect(op.responses["400"], where).toBeDefined();
          expect(op.responses["413"], where).toBeDefined();
          expect(op.responses["415"], where).toBeDefined();
        }
      }
    }
    const deliveries = doc.paths["/api/v1/servers/{name}/deliveries"].get;
    expect(deliveries.parameters.find((p: any) => p.name === "limit")).toMatchObject({
      in: "query",
      required: false,
      schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
    });
    expect(deliveries.parameters.find((p: any) => p.name === "outcome").schema.enum).toContain("dead-lettered");
    const cluster = doc.components.schemas.ClusterInput;
    expect(cluster.additionalProperties).toBe(false);
    expect(cluster.properties.resources.items).toEqual({ type: "string" });
    expect(cluster.properties.resources.default).toEqual(["networking.k8s.io/v1/ingresses"]);
    expect(doc.components.schemas.Server.properties.secret).toBeDefined();
    const rotate = doc.components.schemas.RotateSecretInput;
    expect(rotate.additionalProperties).toBe(false);
    expect(rotate.properties.graceSeconds).toMatchObject({
      type: "integer",
      minimum: 0,
      maximum: 2592000,
      default: 86400,
    });
    const rotated = doc.paths["/api/v1/servers/{name}/rotate-secret"].post;
    expect(rotated.requestBody.required).toBe(false);
    expect(Object.keys(rotated.responses["200"].content["application/json"].schema)).toEqual(["$ref"]);
    expect(doc.components.schemas.RotateSecretResult.properties).not.toHaveProperty("previousSecret");
    // The snapshot: the resync's answer, status.snapshot and the completed event's data.
    const resync = doc.paths["/api/v1/servers/{name}/resync"].post;
    expect(Object.keys(resync.responses)).toEqual(expect.arrayContaining(["200", "202", "404", "409", "503"]));
    expect(doc.components.schemas.SnapshotClusterOutcome.properties.state.enum).toEqual(["pending", "taken", "failed"]);
    expect(JSON.stringify(doc.components.schemas.Server)).toContain('"requestedAt"');
    expect(Object.keys(doc.components.schemas.SnapshotCompletedData.properties).sort()).toEqual([
      "cluster",
      "count",
      "group",
      "requestId",
      "resource",
      "resourceVersion",
      "version",
    ]);
    expect(doc.info.description).toContain("dev.mcic.snapshot.completed");
  });

  it("has examples every one of which the route's own schema accepts", () => {
    const withBody = h.api.routes.specs.filter((s) => s.body);
    expect(withBody.length).toBeGreaterThanOrEqual(10);
    for (const spec of withBody) {
      expect(Object.keys(spec.examples ?? {}).length, spec.operationId).toBeGreaterThan(0);
      for (const [name, example] of Object.entries(spec.examples ?? {})) {
        const result = spec.body.safeParse(example.value);
        expect(result.success, `${spec.operationId} example ${name}: ${result.error?.message}`).toBe(true);
      }
    }
  });

  it("serves Swagger UI and its assets without a token, and nothing else from the package", async () => {
    const page = await fetch(`${h.base}/swagger`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of ["swagger-ui-bundle.js", "swagger-ui.css", "init.js", "favicon-32x32.png"]) {
      const res = await fetch(`${h.base}/swagger-ui/${asset}`);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
    }
    for (const path of ["/swagger-ui/package.json", "/swagger-ui/..%2Fpackage.json", "/swagger-ui/%2e%2e%2fapp.js"]) {
      const res = await fetch(`${h.base}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type"), path).toContain("application/problem+json");
    }
    expect((await fetch(`${h.base}/api/v1/clusters`)).status).toBe(401);
  });
});
