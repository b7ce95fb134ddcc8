import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, KUBECONFIG, startHarness } from "./test-harness.js";

interface Row {
  label: string;
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  /** The field errors[] must name (absent for problems about no particular field). */
  field?: string;
}

const C = "/api/v1/clusters";
const S = "/api/v1/servers";
const SEED = "/cic/nitro/v1/config/controller";
const okCluster = { name: "a", server: "https://k.example:6443" };
const okServer = { name: "s", url: "http://x.example/hook" };
const okSeed = { ClusterName: "seed", KubeURL: "https://k.example:6443", ServerURL: ["http://x.example/"] };
const kubeconfigWith = (user: string) => KUBECONFIG.replace("{token: sekret-kube-token}", user);

const rows: Row[] = [
  // bodies that are not a registration at all
  { label: "malformed JSON", method: "POST", path: C, body: "{nope", status: 400, field: "(body)" },
  { label: "JSON array body", method: "POST", path: C, body: [okCluster], status: 400, field: "(body)" },
  { label: "JSON null body", method: "POST", path: S, body: "null", status: 400, field: "(body)" },
  { label: "no body", method: "POST", path: C, status: 400, field: "(body)" },
  {
    label: "text/plain body",
    method: "POST",
    path: C,
    body: "name=a",
    headers: { "content-type": "text/plain" },
    status: 415,
  },
  {
    label: "form body",
    method: "POST",
    path: S,
    body: "name=s&url=http://x",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    status: 415,
  },
  {
    label: "body over 1 MiB",
    method: "POST",
    path: C,
    body: JSON.stringify({ ...okCluster, labelSelector: "x".repeat(1024 * 1024) }),
    status: 413,
  },
  // clusters
  { label: "missing name", method: "POST", path: C, body: { server: "https://k" }, status: 400, field: "name" },
  { label: "name of wrong type", method: "POST", path: C, body: { ...okCluster, name: 7 }, status: 400, field: "name" },
  {
    label: "upper-case name",
    method: "POST",
    path: C,
    body: { ...okCluster, name: "Bad_Name" },
    status: 400,
    field: "name",
  },
  {
    label: "name over 63",
    method: "POST",
    path: C,
    body: { ...okCluster, name: "a".repeat(64) },
    status: 400,
    field: "name",
  },
  {
    label: "name starting with -",
    method: "POST",
    path: C,
    body: { ...okCluster, name: "-a" },
    status: 400,
    field: "name",
  },
  {
    label: "neither kubeconfig nor server",
    method: "POST",
    path: C,
    body: { name: "a" },
    status: 400,
    field: "kubeconfig",
  },
  {
    label: "both kubeconfig and server",
    method: "POST",
    path: C,
    body: { name: "a", kubeconfig: KUBECONFIG, server: "https://x" },
    status: 400,
    field: "server",
  },
  {
    label: "unknown field",
    method: "POST",
    path: C,
    body: { ...okCluster, colour: "red" },
    status: 400,
    field: "colour",
  },
  {
    label: "ftp server URL",
    method: "POST",
    path: C,
    body: { name: "a", server: "ftp://x" },
    status: 400,
    field: "server",
  },
  {
    label: "server not a URL",
    method: "POST",
    path: C,
    body: { name: "a", server: "k8s" },
    status: 400,
    field: "server",
  },
  {
    label: "kubeconfig with exec plugin",
    method: "POST",
    path: C,
    body: { name: "a", kubeconfig: kubeconfigWith("{exec: {command: rm, apiVersion: v1}}") },
    status: 400,
    field: "kubeconfig",
  },
  {
    label: "kubeconfig with auth-provider",
    method: "POST",
    path: C,
    body: { name: "a", kubeconfig: kubeconfigWith("{auth-provider: {name: gcp}}") },
    status: 400,
    field: "kubeconfig",
  },
  {
    label: "kubeconfig with a key file path",
    method: "POST",
    path: C,
    body: { name: "a", kubeconfig: kubeconfigWith("{client-certificate: /c.pem, client-key: /k.pem}") },
    status: 400,
    field: "kubeconfig",
  },
  {
    label: "kubeconfig that is not YAML",
    method: "POST",
    path: C,
    body: { name: "a", kubeconfig: "clusters: [unclosed" },
    status: 400,
    field: "kubeconfig",
  },
  {
    label: "unknown kubeconfig context",
    method: "POST",
    path: C,
    body: { name: "a", kubeconfig: KUBECONFIG, context: "nope" },
    status: 400,
    field: "context",
  },
  {
    label: "context without kubeconfig",
    method: "POST",
    path: C,
    body: { ...okCluster, context: "dev" },
    status: 400,
    field: "context",
  },
  {
    label: "token beside a kubeconfig",
    method: "POST",
    path: C,
    body: { name: "a", kubeconfig: KUBECONFIG, token: "t" },
    status: 400,
    field: "token",
  },
  {
    label: "unknown resource",
    method: "POST",
    path: C,
    body: { ...okCluster, resources: ["Widgets!"] },
    status: 400,
    field: "resources.0",
  },
  {
    label: "empty resources",
    method: "POST",
    path: C,
    body: { ...okCluster, resources: [] },
    status: 400,
    field: "resources",
  },
  {
    label: "bad namespace",
    method: "POST",
    path: C,
    body: { ...okCluster, namespaces: ["ok", "Not OK"] },
    status: 400,
    field: "namespaces.1",
  },
  {
    label: "bad label selector",
    method: "POST",
    path: C,
    body: { ...okCluster, labelSelector: "a in (" },
    status: 400,
    field: "labelSelector",
  },
  {
    label: "insecureSkipTLSVerify as a string",
    method: "POST",
    path: C,
    body: { ...okCluster, insecureSkipTLSVerify: "yes" },
    status: 400,
    field: "insecureSkipTLSVerify",
  },
  {
    label: "caData not base64",
    method: "POST",
    path: C,
    body: { ...okCluster, caData: "%%%" },
    status: 400,
    field: "caData",
  },
  { label: "existing cluster", method: "POST", path: C, body: { name: "c1", server: "https://k" }, status: 409 },
  {
    label: "cluster name differs from path",
    method: "PUT",
    path: `${C}/c1`,
    body: { ...okCluster, name: "c2" },
    status: 400,
    field: "name",
  },
  {
    label: "PUT of an unknown cluster",
    method: "PUT",
    path: `${C}/nope`,
    body: { ...okCluster, name: "nope" },
    status: 404,
  },
  { label: "GET of an invalid cluster name", method: "GET", path: `${C}/Bad_Name`, status: 404 },
  { label: "DELETE of an unknown cluster", method: "DELETE", path: `${C}/nope`, status: 404 },
  // servers
  {
    label: "javascript: URL",
    method: "POST",
    path: S,
    body: { name: "s", url: "javascript:alert(1)" },
    status: 400,
    field: "url",
  },
  { label: "missing url", method: "POST", path: S, body: { name: "s" }, status: 400, field: "url" },
  {
    label: "bad secret",
    method: "POST",
    path: S,
    body: { ...okServer, secret: "hunter2" },
    status: 400,
    field: "secret",
  },
  {
    label: "secret too short",
    method: "POST",
    path: S,
    body: { ...okServer, secret: "whsec_YWJj" },
    status: 400,
    field: "secret",
  },
  {
    label: "unknown event type",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { eventTypes: ["CREATED"] } },
    status: 400,
    field: "filters.eventTypes.0",
  },
  {
    label: "unknown filter",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { colour: ["red"] } },
    status: 400,
    field: "filters.colour",
  },
  {
    label: "CEL syntax error",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { expression: "event.type ==" } },
    status: 400,
    field: "filters.expression",
  },
  {
    label: "CEL unknown variable",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { expression: 'ingress.name == "x"' } },
    status: 400,
    field: "filters.expression",
  },
  {
    label: "CEL type error",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { expression: "event.name + 1 == 2" } },
    status: 400,
    field: "filters.expression",
  },
  {
    label: "CEL not a bool",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { expression: "event.name" } },
    status: 400,
    field: "filters.expression",
  },
  {
    label: "CEL regex (refused)",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { expression: 'event.name.matches("(a+)+$")' } },
    status: 400,
    field: "filters.expression",
  },
  {
    label: "CEL expression over 4096 characters",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { expression: `event.name == "${"x".repeat(4096)}"` } },
    status: 400,
    field: "filters.expression",
  },
  {
    label: "CEL expression not a string",
    method: "PUT",
    path: `${S}/s1`,
    body: { name: "s1", url: okServer.url, filters: { expression: true } },
    status: 400,
    field: "filters.expression",
  },
  {
    label: "name glob with a slash",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { names: ["shop/*"] } },
    status: 400,
    field: "filters.names.0",
  },
  {
    label: "empty name glob",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { names: ["web-*", ""] } },
    status: 400,
    field: "filters.names.1",
  },
  {
    label: "name glob with a character class",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { names: ["web-[0-9]"] } },
    status: 400,
    field: "filters.names.0",
  },
  {
    label: "excluded namespace not a DNS label",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { excludeNamespaces: ["Kube_System"] } },
    status: 400,
    field: "filters.excludeNamespaces.0",
  },
  {
    label: "excluded namespaces not a list",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { excludeNamespaces: "kube-system" } },
    status: 400,
    field: "filters.excludeNamespaces",
  },
  {
    label: "bad cluster in filter",
    method: "POST",
    path: S,
    body: { ...okServer, filters: { clusters: ["UPPER"] } },
    status: 400,
    field: "filters.clusters.0",
  },
  {
    label: "reserved header",
    method: "POST",
    path: S,
    body: { ...okServer, headers: { "Webhook-Signature": "v1,forged" } },
    status: 400,
    field: "headers.Webhook-Signature",
  },
  {
    // A string body: in a JS literal "__proto__" would set the prototype, not send the key.
    label: "header named __proto__",
    method: "POST",
    path: S,
    body: '{"name":"s","url":"http://x.example/hook","headers":{"__proto__":"x"}}',
    status: 400,
    field: "headers.__proto__",
  },
  {
    label: "header named constructor",
    method: "PUT",
    path: `${S}/s1`,
    body: { ...okServer, name: "s1", headers: { constructor: "x" } },
    status: 400,
    field: "headers.constructor",
  },
  {
    label: "header name that is not a token",
    method: "POST",
    path: S,
    body: { ...okServer, headers: { "X-A:b": "x" } },
    status: 400,
    field: "headers.X-A:b",
  },
  {
    label: "header value with a line break",
    method: "POST",
    path: S,
    body: { ...okServer, headers: { "X-A": "a\r\nX-B: b" } },
    status: 400,
    field: "headers.X-A",
  },
  {
    label: "retry.maxAttempts 0",
    method: "POST",
    path: S,
    body: { ...okServer, retry: { maxAttempts: 0 } },
    status: 400,
    field: "retry.maxAttempts",
  },
  {
    label: "unknown retry field",
    method: "POST",
    path: S,
    body: { ...okServer, retry: { forever: true } },
    status: 400,
    field: "retry.forever",
  },
  {
    label: "enabled as a string",
    method: "POST",
    path: S,
    body: { ...okServer, enabled: "true" },
    status: 400,
    field: "enabled",
  },
  { label: "existing server", method: "POST", path: S, body: { name: "s1", url: "http://x" }, status: 409 },
  {
    label: "server name differs from path",
    method: "PUT",
    path: `${S}/s1`,
    body: okServer,
    status: 400,
    field: "name",
  },
  {
    label: "PUT of an unknown server",
    method: "PUT",
    path: `${S}/nope`,
    body: { ...okServer, name: "nope" },
    status: 404,
  },
  // deliveries, dead letters, replay, test, resync
  { label: "unknown outcome", method: "GET", path: `${S}/s1/deliveries?outcome=lost`, status: 400, field: "outcome" },
  { label: "limit 0", method: "GET", path: `${S}/s1/deliveries?limit=0`, status: 400, field: "limit" },
  { label: "limit not a number", method: "GET", path: `${S}/s1/deliveries?limit=ten`, status: 400, field: "limit" },
  { label: "limit over 1000", method: "GET", path: `${S}/s1/deliveries?limit=1001`, status: 400, field: "limit" },
  { label: "fractional limit", method: "GET", path: `${S}/s1/deliveries?limit=1.5`, status: 400, field: "limit" },
  {
    label: "limit given twice",
    method: "GET",
    path: `${S}/s1/deliveries?limit=1&limit=2`,
    status: 400,
    field: "limit",
  },
  {
    label: "unknown query parameter",
    method: "GET",
    path: `${S}/s1/deliveries?since=yesterday`,
    status: 400,
    field: "since",
  },
  { label: "deliveries of an unknown server", method: "GET", path: `${S}/nope/deliveries`, status: 404 },
  {
    label: "dead letters limit over 10000",
    method: "GET",
    path: `${S}/s1/dead-letters?limit=10001`,
    status: 400,
    field: "limit",
  },
  { label: "dead letters of an unknown server", method: "GET", path: `${S}/nope/dead-letters`, status: 404 },
  {
    label: "unknown dead-letter id",
    method: "POST",
    path: `${S}/s1/dead-letters/replay`,
    body: { ids: ["dl-1", "dl-404"] },
    status: 400,
    field: "ids.1",
  },
  {
    label: "ids not a list",
    method: "POST",
    path: `${S}/s1/dead-letters/replay`,
    body: { ids: "dl-1" },
    status: 400,
    field: "ids",
  },
  {
    label: "empty id",
    method: "POST",
    path: `${S}/s1/dead-letters/replay`,
    body: { ids: [""] },
    status: 400,
    field: "ids.0",
  },
  {
    label: "unknown replay field",
    method: "POST",
    path: `${S}/s1/dead-letters/replay`,
    body: { all: true },
    status: 400,
    field: "all",
  },
  { label: "replay for an unknown server", method: "POST", path: `${S}/nope/dead-letters/replay`, status: 404 },
  {
    label: "test with options",
    method: "POST",
    path: `${S}/s1/test`,
    body: { verbose: true },
    status: 400,
    field: "verbose",
  },
  { label: "test of an unknown server", method: "POST", path: `${S}/nope/test`, status: 404 },
  { label: "resync of an unknown server", method: "POST", path: `${S}/nope/resync`, status: 404 },
  {
    label: "resync with options",
    method: "POST",
    path: `${S}/s1/resync`,
    body: { full: true },
    status: 400,
    field: "full",
  },
  // rotate-secret
  {
    label: "unknown rotation field",
    method: "POST",
    path: `${S}/s1/rotate-secret`,
    body: { grace: 60 },
    status: 400,
    field: "grace",
  },
  {
    label: "negative graceSeconds",
    method: "POST",
    path: `${S}/s1/rotate-secret`,
    body: { graceSeconds: -1 },
    status: 400,
    field: "graceSeconds",
  },
  {
    label: "graceSeconds over 30 days",
    method: "POST",
    path: `${S}/s1/rotate-secret`,
    body: { graceSeconds: 2_592_001 },
    status: 400,
    field: "graceSeconds",
  },
  {
    label: "fractional graceSeconds",
    method: "POST",
    path: `${S}/s1/rotate-secret`,
    body: { graceSeconds: 1.5 },
    status: 400,
    field: "graceSeconds",
  },
  {
    label: "graceSeconds as a string",
    method: "POST",
    path: `${S}/s1/rotate-secret`,
    body: { graceSeconds: "60" },
    status: 400,
    field: "graceSeconds",
  },
  {
    label: "rotation to a secret without whsec_",
    method: "POST",
    path: `${S}/s1/rotate-secret`,
    body: { secret: Buffer.alloc(32, 7).toString("base64") },
    status: 400,
    field: "secret",
  },
  {
    label: "rotation to a too short secret",
    method: "POST",
    path: `${S}/s1/rotate-secret`,
    body: { secret: `whsec_${Buffer.alloc(8, 7).toString("base64")}` },
    status: 400,
    field: "secret",
  },
  {
    label: "rotation of an unknown server",
    method: "POST",
    path: `${S}/nope/rotate-secret`,
    body: { graceSeconds: 60 },
    status: 404,
  },
  { label: "query parameter on a list", method: "GET", path: `${C}?verbose=1`, status: 400, field: "verbose" },
  { label: "query parameter on a delete", method: "DELETE", path: `${S}/s1?force=true`, status: 400, field: "force" },
  // auth
  { label: "no token", method: "GET", path: C, headers: { authorization: "" }, status: 401 },
  {
    label: "wrong token",
    method: "POST",
    path: C,
    body: okCluster,
    headers: { authorization: "Bearer wrong" },
    status: 401,
  },
  { label: "basic auth", method: "GET", path: S, headers: { authorization: "Basic dDB rZW4=" }, status: 401 },
  { label: "token of metrics missing", method: "GET", path: "/metrics", headers: { authorization: "" }, status: 401 },
  // routing
  { label: "unknown route", method: "GET", path: "/api/v2/clusters", status: 404 },
  { label: "wrong method", method: "PATCH", path: S, body: okServer, status: 405 },
  // seed compatibility
  {
    label: "seed without ServerURL",
    method: "POST",
    path: SEED,
    body: { ...okSeed, ServerURL: undefined },
    status: 400,
    field: "ServerURL",
  },
  {
    label: "seed with empty ServerURL",
    method: "POST",
    path: SEED,
    body: { ...okSeed, ServerURL: [] },
    status: 400,
    field: "ServerURL",
  },
  {
    label: "seed with a bad ServerURL",
    method: "POST",
    path: SEED,
    body: { ...okSeed, ServerURL: ["http://ok/", "file:///etc/passwd"] },
    status: 400,
    field: "ServerURL.1",
  },
  {
    label: "seed with a bad WatchEvent",
    method: "POST",
    path: SEED,
    body: { ...okSeed, WatchEvents: ["ingresses"] },
    status: 400,
    field: "WatchEvents.0",
  },
  {
    label: "seed with ConfigFileName",
    method: "POST",
    path: SEED,
    body: { ...okSeed, ConfigFileName: "/root/.kube/config" },
    status: 400,
    field: "ConfigFileName",
  },
  {
    label: "seed with a bad ClusterName",
    method: "POST",
    path: SEED,
    body: { ...okSeed, ClusterName: "ClusterABC" },
    status: 400,
    field: "ClusterName",
  },
  {
    label: "seed ClusterName too long for its server names",
    method: "POST",
    path: SEED,
    body: { ...okSeed, ClusterName: "a".repeat(62) },
    status: 400,
    field: "ClusterName",
  },
  {
    label: "seed with bad Namespaces text",
    method: "POST",
    path: SEED,
    body: { ...okSeed, Namespaces: "ok, Not OK" },
    status: 400,
    field: "Namespaces.1",
  },
  {
    label: "seed Namespaces of wrong type",
    method: "POST",
    path: SEED,
    body: { ...okSeed, Namespaces: 3 },
    status: 400,
    field: "Namespaces",
  },
  {
    label: "seed KubeURL not http",
    method: "POST",
    path: SEED,
    body: { ...okSeed, KubeURL: "tcp://k:6443" },
    status: 400,
    field: "KubeURL",
  },
  {
    label: "seed empty token",
    method: "POST",
    path: SEED,
    body: { ...okSeed, KubeServAcctToken: "" },
    status: 400,
    field: "KubeServAcctToken",
  },
  {
    label: "seed for an existing cluster",
    method: "POST",
    path: SEED,
    body: { ...okSeed, ClusterName: "c1" },
    status: 409,
  },
  {
    label: "seed whose server name is taken",
    method: "POST",
    path: SEED,
    body: { ...okSeed, ClusterName: "x" },
    status: 409,
  },
  { label: "seed PUT of an unknown cluster", method: "PUT", path: SEED, body: okSeed, status: 404 },
  {
    label: "seed PUT taking a foreign server",
    method: "PUT",
    path: SEED,
    body: { ...okSeed, ClusterName: "x" },
    status: 409,
  },
  { label: "seed DELETE without ClusterName", method: "DELETE", path: SEED, status: 400, field: "ClusterName" },
  {
    label: "seed DELETE naming two clusters",
    method: "DELETE",
    path: `${SEED}?ClusterName=c1`,
    body: { ClusterName: "x" },
    status: 400,
    field: "ClusterName",
  },
  { label: "seed DELETE of an unknown cluster", method: "DELETE", path: `${SEED}?ClusterName=nope`, status: 404 },
  {
    label: "seed GET with a bad ClusterName",
    method: "GET",
    path: `${SEED}?ClusterName=Bad!`,
    status: 400,
    field: "ClusterName",
  },
];

describe("bad requests get a problem naming the field and change nothing", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    expect((await h.call("POST", C, { name: "c1", server: "https://k:6443", token: "tok" })).status).toBe(201);
    expect((await h.call("POST", C, { name: "x", server: "https://k:6443" })).status).toBe(201);
    expect((await h.call("POST", S, { name: "s1", url: "http://127.0.0.1:9/", snapshot: false })).status).toBe(201);
    // A server named like a seed server of cluster "x", but not made by a seed mapping.
    expect((await h.call("POST", S, { name: "x-0", url: "http://127.0.0.1:9/", snapshot: false })).status).toBe(201);
    const envelope = {
      id: "c1/u1/5/ADDED",
      cluster: "c1",
      group: "networking.k8s.io",
      version: "v1",
      resource: "ingresses",
      kind: "Ingress",
      namespace: "shop",
      name: "web",
      uid: "u1",
      resourceVersion: "5",
      type: "ADDED",
      observedAt: "2026-01-01T00:00:00.000Z",
      object: {},
    };
    await h.redis.lpush(
      "t:{server:s1}:dead-letters",
      JSON.stringify({ id: "dl-1", eventId: envelope.id, status: 400, attempts: 1, at: envelope.observedAt, envelope }),
    );
    await h.redis.hset("t:{server:s1}:status", "deadLetters", "1");
  });
  afterAll(async () => {
    await h.close();
  });

  it("has at least 40 different cases", () => {
    expect(new Set(rows.map((r) => r.label)).size).toBe(rows.length);
    expect(rows.length).toBeGreaterThanOrEqual(40);
  });

  it.each([
    ["event.type ==", "at line 1, column 14"],
    ['event.type == "ADDED" &&\n  ingress.name == "x"', "Unknown variable: ingress at line 2, column 3"],
    ["event.name + 1 == 2", "no such overload: string + int at line 1, column 1"],
  ])("names the position of a CEL problem in %j", async (expression, message) => {
    const res = await h.call("POST", S, { ...okServer, filters: { expression } });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toEqual([{ path: "filters.expression", message: expect.stringContaining(message) }]);
  });

  it.each(rows)("$label → $status", async (row) => {
    const before = await h.snapshot();
    const res = await h.call(row.method, row.path, row.body, row.headers);
    expect(res.status, res.text).toBe(row.status);
    expect(res.type).toContain("application/problem+json");
    expect(res.body).toMatchObject({
      type: expect.stringMatching(/^urn:mcic:problem:[a-z_]+$/),
      title: expect.any(String),
      status: row.status,
      detail: expect.stringMatching(/./),
    });
    if (row.field) {
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(row.field);
      for (const e of res.body.errors) expect(e.message).toEqual(expect.any(String));
    }
    expect(await h.snapshot()).toEqual(before);
  });
});
