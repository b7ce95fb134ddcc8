import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { ClusterInputSchema, ServerInputSchema } from "./models.js";
import { generateWebhookSecret } from "./webhook.js";
import { fieldErrors } from "./zod-issues.js";

/** The dotted paths of the fields a parse complains about, or [] when it succeeds. */
function errorPaths(schema: z.ZodType, input: unknown): string[] {
  const result = schema.safeParse(input);
  return result.success ? [] : fieldErrors(result.error).map((e) => e.path);
}

function errorsOf(schema: z.ZodType, input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  return fieldErrors(result.error);
}

const KUBECONFIG = "apiVersion: v1\nkind: Config\ncurrent-context: dev\n";

describe("ClusterInputSchema", () => {
  it("accepts the server form", () => {
    const input = {
      name: "east-1",
      server: "https://k8s.east.example.com:6443",
      token: "sa-token",
      caData: Buffer.from("-----BEGIN CERTIFICATE-----\n").toString("base64"),
      insecureSkipTLSVerify: false,
      resources: ["networking.k8s.io/v1/ingresses", "v1/services"],
      namespaces: ["default", "shop"],
      labelSelector: "app=web,tier in (front,back)",
    };
    expect(ClusterInputSchema.parse(input)).toEqual(input);
  });

  it("accepts the kubeconfig form with a context", () => {
    const parsed = ClusterInputSchema.parse({ name: "dev", kubeconfig: KUBECONFIG, context: "dev" });
    expect(parsed).toMatchObject({ name: "dev", kubeconfig: KUBECONFIG, context: "dev" });
  });

  it("defaults resources to ingresses, in canonical form", () => {
    expect(ClusterInputSchema.parse({ name: "c", server: "https://k" }).resources).toEqual([
      "networking.k8s.io/v1/ingresses",
    ]);
  });

  it("normalizes resources to group/version/resource", () => {
    const parsed = ClusterInputSchema.parse({
      name: "c",
      server: "https://k",
      resources: ["services", "ingresses", "core/v1/pods", "stable.example.com/v1/widgets"],
    });
    expect(parsed.resources).toEqual([
      "v1/services",
      "networking.k8s.io/v1/ingresses",
      "v1/pods",
      "stable.example.com/v1/widgets",
    ]);
  });

  it("rejects an unknown field, naming it", () => {
    expect(errorsOf(ClusterInputSchema, { name: "c", server: "https://k", password: "x" })).toEqual([
      { path: "password", message: "unknown field password" },
    ]);
  });

  it("rejects both kubeconfig and server", () => {
    const errors = errorsOf(ClusterInputSchema, { name: "c", server: "https://k", kubeconfig: KUBECONFIG });
    expect(errors).toEqual([{ path: "server", message: expect.stringMatching(/either kubeconfig or server/) }]);
  });

  it("rejects neither kubeconfig nor server", () => {
    const errors = errorsOf(ClusterInputSchema, { name: "c" });
    expect(errors).toEqual([
      { path: "kubeconfig", message: expect.stringMatching(/exactly one of kubeconfig or server/) },
    ]);
  });

  it.each([
    ["token", { token: "t" }],
    ["caData", { caData: "QUJD" }],
    ["insecureSkipTLSVerify", { insecureSkipTLSVerify: true }],
  ])("rejects %s together with kubeconfig", (field, extra) => {
    expect(errorPaths(ClusterInputSchema, { name: "c", kubeconfig: KUBECONFIG, ...extra })).toEqual([field]);
  });

  it("rejects context without kubeconfig", () => {
    expect(errorPaths(ClusterInputSchema, { name: "c", server: "https://k", context: "dev" })).toEqual(["context"]);
  });

  it.each([
    ["uppercase", "East"],
    ["64 characters", "a".repeat(64)],
    ["a leading dash", "-east"],
    ["a trailing dash", "east-"],
    ["a dot", "east.1"],
    ["empty", ""],
  ])("rejects a name with %s", (_label, name) => {
    expect(errorPaths(ClusterInputSchema, { name, server: "https://k" })).toContain("name");
    expect(errorPaths(ClusterInputSchema, { name, server: "https://k" }).every((p) => p === "name")).toBe(true);
  });

  it("accepts a name of exactly 63 characters", () => {
    expect(errorPaths(ClusterInputSchema, { name: "a".repeat(63), server: "https://k" })).toEqual([]);
  });

  it("requires a name", () => {
    expect(errorsOf(ClusterInputSchema, { server: "https://k" })).toEqual([{ path: "name", message: "required" }]);
  });

  it.each(["app in web", "a,,b", "=web", "app=a b"])("rejects labelSelector %j", (labelSelector) => {
    expect(errorPaths(ClusterInputSchema, { name: "c", server: "https://k", labelSelector })).toEqual([
      "labelSelector",
    ]);
  });

  it("points at the bad resource by its index", () => {
    const errors = errorsOf(ClusterInputSchema, {
      name: "c",
      server: "https://k",
      resources: ["ingresses", "widgets"],
    });
    expect(errors).toEqual([{ path: "resources.1", message: expect.stringContaining('unknown resource "widgets"') }]);
  });

  it("rejects an empty resource list", () => {
    expect(errorPaths(ClusterInputSchema, { name: "c", server: "https://k", resources: [] })).toEqual(["resources"]);
  });

  it.each(["ftp://k8s.example.com", "k8s.example.com:6443", "https://", "not a url"])("rejects server %j", (server) => {
    expect(errorPaths(ClusterInputSchema, { name: "c", server })).toEqual(["server"]);
  });

  it("rejects caData that is not base64 and a bad namespace", () => {
    expect(errorPaths(ClusterInputSchema, { name: "c", server: "https://k", caData: "not base64!" })).toEqual([
      "caData",
    ]);
    expect(errorPaths(ClusterInputSchema, { name: "c", server: "https://k", namespaces: ["ok", "Not_OK"] })).toEqual([
      "namespaces.1",
    ]);
  });
});

describe("ServerInputSchema", () => {
  const minimal = { name: "lb-1", url: "https://lb.example.com/hook" };

  it("fills in defaults", () => {
    expect(ServerInputSchema.parse(minimal)).toEqual({
      ...minimal,
      filters: {},
      headers: {},
      includeSecretData: false,
      snapshot: true,
      enabled: true,
      payload: "full",
      includeManagedFields: false,
      disableAfterSeconds: 432_000,
      retry: {},
    });
  });

  it("keeps what the user gave", () => {
    const input = {
      ...minimal,
      url: "http://10.0.0.5:8080/events",
      filters: {
        clusters: ["east"],
        resources: ["ingresses", "v1/services"],
        namespaces: ["shop"],
        eventTypes: ["ADDED", "DELETED"],
        labelSelector: "app=web",
        excludeNamespaces: ["kube-system"],
        names: ["web-*", "api-?"],
        expression: 'object.metadata.name.startsWith("web")',
        changedPaths: ["spec", "metadata.labels"],
      },
      headers: { Authorization: "Bearer x", "X-Api-Key": "k" },
      secret: generateWebhookSecret(),
      includeSecretData: true,
      snapshot: false,
      enabled: false,
      payload: "metadata",
      includeManagedFields: true,
      rateLimit: { perSecond: 2.5, burst: 10 },
      disableAfterSeconds: 3600,
      retry: { maxAttempts: 5, maxAgeSeconds: 3600 },
    };
    expect(ServerInputSchema.parse(input)).toEqual(input);
  });

  it.each(["ftp://lb.example.com/hook", "lb.example.com/hook", "file:///etc/passwd", "http://"])(
    "rejects url %j",
    (url) => {
      expect(errorsOf(ServerInputSchema, { ...minimal, url })).toEqual([
        { path: "url", message: expect.stringMatching(/http:\/\/ or https:\/\//) },
      ]);
    },
  );

  it.each(["secret", "whsec_", "whsec_!!!!", `whsec_${Buffer.alloc(8).toString("base64")}`])(
    "rejects secret %j",
    (secret) => {
      expect(errorPaths(ServerInputSchema, { ...minimal, secret })).toEqual(["secret"]);
    },
  );

  it.each(["webhook-signature", "Webhook-Signature", "webhook-id", "Content-Type", "host"])(
    "rejects the reserved header %s",
    (name) => {
      expect(errorPaths(ServerInputSchema, { ...minimal, headers: { [name]: "x" } })).toEqual([`headers.${name}`]);
    },
  );

  it("rejects an invalid header name", () => {
    expect(errorPaths(ServerInputSchema, { ...minimal, headers: { "X Bad": "x" } })).toEqual(["headers.X Bad"]);
  });

  it.each(["__proto__", "constructor", "prototype"])("rejects the header name %s instead of dropping it", (name) => {
    // As the API reads a body: JSON.parse makes "__proto__" an own property.
    const input = JSON.parse(`{"name":"lb-1","url":"https://lb.example.com/hook","headers":{"${name}":"x"}}`);
    expect(errorsOf(ServerInputSchema, input)).toEqual([
      { path: `headers.${name}`, message: "is not allowed as a header name" },
    ]);
  });

  it.each(["X:Colon", "X(Paren)", "Ünicode"])("rejects the header name %j, not an RFC 7230 token", (name) => {
    expect(errorPaths(ServerInputSchema, { ...minimal, headers: { [name]: "x" } })).toEqual([`headers.${name}`]);
  });

  it.each(["a\nb", "a\r\nX-Injected: 1", "trailing\r"])("rejects header value %j", (value) => {
    expect(errorsOf(ServerInputSchema, { ...minimal, headers: { "X-Token": value } })).toEqual([
      { path: "headers.X-Token", message: "must not contain line breaks" },
    ]);
  });

  it("rejects header values that cannot be sent over HTTP", () => {
    // undici refuses control characters and characters above U+00FF in header values at send
    // time, so such a server would be registered and then never receive anything.
    for (const value of ["a\u0001b", "a\u007fb", "a\u0000b", "price \u20ac"]) {
      expect(
        errorPaths(ServerInputSchema, { ...minimal, headers: { "X-Token": value } }),
        JSON.stringify(value),
      ).toEqual(["headers.X-Token"]);
    }
  });

  it.each([[["UPDATED"]], [["added"]], ["ADDED"]])("rejects eventTypes %j", (eventTypes) => {
    const paths = errorPaths(ServerInputSchema, { ...minimal, filters: { eventTypes } });
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.every((p) => p.startsWith("filters.eventTypes"))).toBe(true);
  });

  it("rejects an unknown field in filters, naming it", () => {
    expect(errorsOf(ServerInputSchema, { ...minimal, filters: { cluster: ["east"] } })).toEqual([
      { path: "filters.cluster", message: "unknown field cluster" },
    ]);
  });

  it("rejects unknown top-level and retry fields", () => {
    expect(errorPaths(ServerInputSchema, { ...minimal, token: "x" })).toEqual(["token"]);
    expect(errorPaths(ServerInputSchema, { ...minimal, retry: { attempts: 3 } })).toEqual(["retry.attempts"]);
  });

  it("rejects a bad label selector and bad names in filters", () => {
    expect(errorPaths(ServerInputSchema, { ...minimal, filters: { labelSelector: "a in b" } })).toEqual([
      "filters.labelSelector",
    ]);
    expect(errorPaths(ServerInputSchema, { ...minimal, filters: { clusters: ["East"] } })).toEqual([
      "filters.clusters.0",
    ]);
    expect(errorPaths(ServerInputSchema, { ...minimal, filters: { namespaces: ["a_b"] } })).toEqual([
      "filters.namespaces.0",
    ]);
  });

  it("rejects retry limits out of range", () => {
    expect(errorPaths(ServerInputSchema, { ...minimal, retry: { maxAttempts: 0 } })).toEqual(["retry.maxAttempts"]);
    expect(errorPaths(ServerInputSchema, { ...minimal, retry: { maxAgeSeconds: 1.5 } })).toEqual([
      "retry.maxAgeSeconds",
    ]);
  });
});
