import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { parseKubeconfig } from "@mcic/core";
import { waitFor } from "@mcic/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { requireBinary } from "../deploy/require-binary.js";
import { type CliHandle, runCli } from "./cli.js";
import { changes, testClient } from "./test-client.js";

describe("kube-sim CLI", () => {
  let handle: CliHandle | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await handle?.stop();
    handle = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("seeds the demo, writes a kubeconfig that reaches it, and keeps modifying ingresses", async () => {
    dir = mkdtempSync(join(tmpdir(), "kube-sim-cli-"));
    const kubeconfig = join(dir, "kubeconfig.yaml");
    const out: string[] = [];
    const argv = ["--token", "demo-token", "--seed", "demo", "--churn-ms", "30"];
    handle = await runCli([...argv, "--kubeconfig-out", kubeconfig, "--cluster-name", "demo"], (l) => out.push(l));
    const url = handle.sim.url;
    expect(out).toEqual([`kube-sim listening on ${url}`]);

    const text = readFileSync(kubeconfig, "utf8");
    expect(parseKubeconfig(text)).toEqual({ server: url, token: "demo-token" });
    const kc = new KubeConfig();
    kc.loadFromString(text);
    expect(kc.getCurrentContext()).toBe("demo");

    const api = testClient(url, "demo-token");
    const list = await api.get("/apis/networking.k8s.io/v1/ingresses");
    expect(list.body.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      "blog/www",
      "shop/api",
      "shop/web",
    ]);
    expect((await api.get("/api/v1/namespaces")).body.items.map((o: any) => o.metadata.name)).toEqual(["blog", "shop"]);
    const w = await api.watch(
      `/apis/networking.k8s.io/v1/ingresses?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`,
    );
    await waitFor(() => w.events.length >= 3, { message: "churn events" });
    w.close();
    expect(w.events.every((e) => e.type === "MODIFIED")).toBe(true);
    expect(new Set(changes(w).slice(0, 3))).toEqual(
      new Set(["MODIFIED shop/web", "MODIFIED shop/api", "MODIFIED blog/www"]),
    );
    expect(w.events[0]?.object.metadata.annotations).toHaveProperty("demo.mcic.dev/tick");
    expect((await testClient(url).get("/api/v1/namespaces")).status).toBe(401);
  });

  it("with --tls-dir serves HTTPS that kubectl reaches through the kubeconfig it writes, and keeps its certificate", async () => {
    requireBinary("kubectl", "apt-get install kubernetes-client");
    dir = mkdtempSync(join(tmpdir(), "kube-sim-cli-"));
    const kubeconfig = join(dir, "kubeconfig.yaml");
    const argv = ["--token", "t0k", "--seed", "demo", "--cluster-name", "demo", "--kubeconfig-out", kubeconfig];
    handle = await runCli([...argv, "--tls-dir", join(dir, "tls")], () => {});
    expect(handle.sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const cert = readFileSync(join(dir, "tls", "cert.pem"), "utf8");
    expect(parseKubeconfig(readFileSync(kubeconfig, "utf8"))).toEqual({
      server: handle.sim.url,
      token: "t0k",
      caData: cert,
    });

    const kubectl = (...args: string[]) =>
      promisify(execFile)("kubectl", ["--kubeconfig", kubeconfig, ...args], { timeout: 20_000 });
    const listed = await kubectl("get", "ingress", "-A", "--no-headers");
    expect(
      listed.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(/\s+/).slice(0, 2).join("/")),
    ).toEqual(["blog/www", "shop/api", "shop/web"]);
    expect(listed.stderr).toBe("");
    await kubectl("-n", "shop", "annotate", "ingress", "web", "touched=now", "--overwrite");
    const web = handle.sim.cluster().get("networking.k8s.io/v1/ingresses", "shop", "web");
    expect(web?.metadata.annotations).toMatchObject({ touched: "now" });

    // A second start reuses the certificate, so kubeconfigs handed out earlier stay trusted.
    await handle.stop();
    handle = await runCli([...argv, "--tls-dir", join(dir, "tls")], () => {});
    expect(readFileSync(join(dir, "tls", "cert.pem"), "utf8")).toBe(cert);
    expect((await kubectl("-n", "shop", "get", "ingress", "web", "-o", "name")).stdout.trim()).toBe(
      "ingress.networking.k8s.io/web",
    );
  });

  it("refuses unknown flags, seeds and bad numbers before it starts listening", async () => {
    await expect(runCli(["--prot", "1"], () => {})).rejects.toThrow(/prot/);
    await expect(runCli(["--seed", "nope"], () => {})).rejects.toThrow(/unknown seed "nope"/);
    await expect(runCli(["--churn-ms", "soon"], () => {})).rejects.toThrow(/--churn-ms/);
  });
});
