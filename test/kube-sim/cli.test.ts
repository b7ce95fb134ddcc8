import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { parseKubeconfig } from "@mcic/core";
import { waitFor } from "@mcic/core/testing";
import { afterEach, describe, expect, it } from "vitest";
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

  it("refuses unknown flags, seeds and bad numbers before it starts listening", async () => {
    await expect(runCli(["--prot", "1"], () => {})).rejects.toThrow(/prot/);
    await expect(runCli(["--seed", "nope"], () => {})).rejects.toThrow(/unknown seed "nope"/);
    await expect(runCli(["--churn-ms", "soon"], () => {})).rejects.toThrow(/--churn-ms/);
  });
});
