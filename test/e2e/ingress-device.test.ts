import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Device, checkConfig, findNginx, startDevice } from "@mcic/example-ingress-device";
import { type TestServer, startNats, startRedis, waitFor } from "@mcic/core/testing";
import { generateWebhookSecret } from "@mcic/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { type Stack, startStack } from "../support/stack.js";

const ING = "networking.k8s.io/v1/ingresses";

function ingress(namespace: string, name: string, host: string, ip: string) {
  return {
    metadata: { namespace, name },
    spec: {
      rules: [
        {
          host,
          http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name, port: { number: 80 } } } }] },
        },
      ],
      tls: [{ hosts: [host], secretName: `${name}-tls` }],
    },
    status: { loadBalancer: { ingress: [{ ip }] } },
  };
}

describe("examples/ingress-device: nginx configuration from the ingresses of two clusters", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let stack: Stack;
  let device: Device;
  let dir: string;

  beforeAll(async () => {
    [nats, redis, sim] = await Promise.all([startNats(), startRedis(), KubeSim.start()]);
    stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url });
    dir = await mkdtemp(join(tmpdir(), "mcic-ingress-device-"));
  }, 60_000);
  afterAll(async () => {
    await device?.close();
    await stack?.stop();
    await sim?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("renders both clusters, nginx -t accepts the file, and a change in one cluster reaches the file", async () => {
    const nginx = await findNginx();
    expect(nginx, "nginx must be installed (.ci/run installs Debian's nginx)").toBeDefined();
    const out = join(dir, "mcic.conf");
    const secret = generateWebhookSecret();
    device = await startDevice({
      secrets: [secret],
      out,
      port: 0,
      listenPort: 8080,
      nginx,
      stateDir: join(dir, "state"),
    });

    const east = sim.cluster("east");
    const west = sim.cluster("west");
    east.create(ING, ingress("shop", "web", "web.example.com", "10.1.0.1"));
    west.create(ING, ingress("shop", "web", "web.example.com", "10.2.0.1"));
    west.create(ING, ingress("blog", "www", "www.example.com", "10.2.0.2"));
    const reg = await stack.api("/api/v1/servers", { body: { name: "ingress-device", url: device.url, secret } });
    expect(reg.status).toBe(201);
    for (const [name, c] of [
      ["east", east],
      ["west", west],
    ] as const) {
      expect((await stack.api("/api/v1/clusters", { body: { name, server: c.url } })).status).toBe(201);
    }
    const read = () => readFile(out, "utf8").catch(() => "");
    const config = await waitFor(
      async () => {
        const text = await read();
        return ["10.1.0.1:80", "10.2.0.1:80", "10.2.0.2:80"].every((a) => text.includes(a)) && text;
      },
      { timeoutMs: 20_000, message: "both clusters in the nginx configuration" },
    );
    expect(config).toContain("server_name web.example.com;");
    expect(config).toContain("server_name www.example.com;");
    expect(config).toContain("# TLS: listed in spec.tls of east/shop/web (secret web-tls)");
    expect(await checkConfig(nginx as string, out)).toEqual({ ok: true, output: "" });

    // A change in one cluster: west's load balancer moves.
    const current = west.get(ING, "shop", "web");
    const changedAt = Date.now();
    west.update(ING, { ...current, status: { loadBalancer: { ingress: [{ ip: "10.2.9.9" }] } } });
    const after = await waitFor(async () => (await read()).includes("10.2.9.9:80") && (await read()), {
      timeoutMs: 10_000,
      intervalMs: 5,
      message: "the new address in the file",
    });
    const latencyMs = Date.now() - changedAt;
    console.log(`ingress-device: cluster change to nginx file in ${latencyMs} ms`);
    expect(after).not.toContain("10.2.0.1:80");
    expect(after).toContain("10.1.0.1:80");
    expect(await checkConfig(nginx as string, out)).toEqual({ ok: true, output: "" });
  });
});
