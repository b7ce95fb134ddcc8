import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseKubeconfig } from "@mcic/core";
import { waitFor } from "@mcic/core/testing";
import { describe, expect, it } from "vitest";
import { runCli } from "./cli.js";

describe("kube-sim CLI", () => {
  it("seeds the demo, writes a usable kubeconfig, and keeps changing an ingress", async () => {
    const out: string[] = [];
    const kubeconfig = join(mkdtempSync(join(tmpdir(), "sim-cli-")), "kc.yaml");
    const handle = await runCli(
      [
        "--token",
        "demo",
        "--seed",
        "demo",
        "--churn-ms",
        "30",
        "--kubeconfig-out",
        kubeconfig,
        "--cluster-name",
        "demo",
      ],
      (l) => out.push(l),
    );
    try {
      expect(out).toEqual([`kube-sim listening on ${handle.sim.url}`]);
      const conn = parseKubeconfig(readFileSync(kubeconfig, "utf8"));
      expect(conn).toEqual({ server: handle.sim.url, token: "demo" });
      const c = handle.sim.cluster();
      expect(c.list("networking.k8s.io/v1/ingresses").map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(
        ["blog/www", "shop/api", "shop/web"],
      );
      const rv = Number(c.resourceVersion);
      await waitFor(() => Number(c.resourceVersion) >= rv + 2, { message: "churn" });
      expect(c.get("networking.k8s.io/v1/ingresses", "shop", "web")?.metadata.annotations).toHaveProperty(
        "demo.mcic.dev/tick",
      );
    } finally {
      await handle.stop();
    }
  });
});
