import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkConfig, findNginx } from "./nginx.js";
import { renderNginxConfig } from "./render.js";

type Rule = { host?: unknown; http?: { paths: { path?: unknown; pathType?: string }[] } };
function ingress(rules: Rule[], lb: { ip?: unknown; hostname?: unknown }[] = [], tls?: unknown[]) {
  return { spec: { rules, ...(tls ? { tls } : {}) }, status: { loadBalancer: { ingress: lb } } };
}
const key = (cluster: string, ns: string, name: string) => `${cluster}/networking.k8s.io/ingresses/${ns}/${name}`;
const path = (p: string, pathType = "Prefix") => ({ http: { paths: [{ path: p, pathType }] } });

/** Two clusters routing the same host, plus one host only the second has. */
function twoClusters(): Map<string, unknown> {
  return new Map<string, unknown>([
    [
      key("east", "shop", "web"),
      ingress(
        [{ host: "web.example.com", ...path("/") }],
        [{ ip: "10.0.0.1" }],
        [{ hosts: ["web.example.com"], secretName: "web-tls" }],
      ),
    ],
    [
      key("west", "shop", "web"),
      ingress([{ host: "web.example.com", ...path("/") }], [{ ip: "fd00::2" }, { hostname: "localhost" }]),
    ],
    [
      key("west", "blog", "www"),
      ingress(
        [
          { host: "www.example.com", ...path("/api", "Exact") },
          { host: "www.example.com", ...path("/") },
        ],
        [{ ip: "10.0.1.1" }],
      ),
    ],
    ["west//services/shop/web", { spec: {} }],
  ]);
}

describe("renderNginxConfig", () => {
  it("renders a server block per host with upstreams from every cluster's load balancer, noting TLS hosts", () => {
    const { config, hosts, skipped } = renderNginxConfig(twoClusters(), { listenPort: 8080 });
    expect(hosts).toEqual(["web.example.com", "www.example.com"]);
    expect(skipped).toEqual([]);
    expect(config.match(/^server \{$/gm)).toHaveLength(2);
    expect(config).toMatch(
      /upstream mcic_\w+ \{\n {4}server 10\.0\.0\.1:80;\n {4}server \[fd00::2\]:80;\n {4}server localhost:80;\n\}/,
    );
    expect(config).toContain("    listen 8080;\n    server_name web.example.com;");
    expect(config).toContain("# TLS: listed in spec.tls of east/shop/web (secret web-tls)");
    expect(config).toContain("location = /api {");
    expect(config).not.toContain("services");
    // Deterministic: the same state renders the same bytes, whatever the map order.
    expect(renderNginxConfig(new Map([...twoClusters()].reverse()), { listenPort: 8080 }).config).toBe(config);
  });

  it("answers 503 for a host no cluster has an address for yet", () => {
    const { config } = renderNginxConfig(
      new Map([[key("east", "shop", "web"), ingress([{ host: "web.example.com" }])]]),
    );
    expect(config).toContain(
      "location / {\n        # no cluster reports a load balancer address yet\n        return 503;",
    );
    expect(config).not.toContain("upstream");
  });

  it("leaves out hosts, paths, addresses and names that could inject nginx directives", () => {
    const hostile = new Map<string, unknown>([
      [
        key("east", "shop", "hostile"),
        ingress(
          [
            { host: "a.example.com; } server { listen 9999; server_name x" },
            { host: "b.example.com\n    include /etc/passwd" },
            { host: "ok.example.com", ...path("/x { return 200 'owned'; } location /y") },
            { host: "ok.example.com", ...path("/$host#") },
            { host: 42 },
            { ...path("/") },
            { host: "ok.example.com", ...path("/fine") },
          ],
          [{ ip: "10.0.0.1; proxy_pass http://evil" }, { hostname: "evil.example.com;" }, { ip: "10.0.0.9" }],
          [{ hosts: ["ok.example.com"], secretName: "x; ssl_certificate /etc/shadow" }],
        ),
      ],
      [key("east", "shop", "bad_name"), ingress([{ host: "c.example.com" }])],
    ]);
    const { config, hosts, skipped } = renderNginxConfig(hostile);
    expect(hosts).toEqual(["ok.example.com"]);
    for (const bad of ["9999", "passwd", "owned", "$host#", "evil", "shadow", "c.example.com"]) {
      expect(config).not.toContain(bad);
    }
    expect(config).toContain("server 10.0.0.9:80;");
    expect(config).toContain("(no valid secretName)");
    expect(skipped.map((s) => s.reason)).toEqual(
      expect.arrayContaining([
        "a rule host is not a DNS name",
        "a rule without host (default backends are not rendered)",
        "a load balancer address is neither an IP nor a DNS name",
        "a path of ok.example.com is not a plain absolute URL path",
        "cluster, namespace or name is not a DNS name",
      ]),
    );
  });

  it("produces a configuration nginx -t accepts (two clusters, hostile input included)", async () => {
    const nginx = await findNginx();
    expect(nginx, "nginx must be installed (.ci/run installs Debian's nginx)").toBeDefined();
    const dir = await mkdtemp(join(tmpdir(), "mcic-render-"));
    try {
      const file = join(dir, "mcic.conf");
      const state = twoClusters();
      state.set(
        key("east", "shop", "hostile"),
        ingress([
          { host: "x.example.com; }", ...path("/") },
          { host: "y.example.com", ...path("/a;b") },
        ]),
      );
      await writeFile(file, renderNginxConfig(state).config);
      expect(await checkConfig(nginx as string, file)).toEqual({ ok: true, output: "" });
      // And the check is real: nginx refuses a broken file.
      await writeFile(file, "server { listen 80; server_name a.example.com; location / { proxy_pass http://nowhere; }");
      const refused = await checkConfig(nginx as string, file);
      expect(refused.ok).toBe(false);
      expect(refused.output).toMatch(/unexpected end of file|emerg/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
