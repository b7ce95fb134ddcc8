import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { KubeSim } from "./index.js";
import type { SimCluster } from "./sim-cluster.js";

const INGRESSES = "networking.k8s.io/v1/ingresses";

/** A few namespaces and ingresses, so a demo has something to show at once. */
export function seedDemo(c: SimCluster): void {
  for (const ns of ["shop", "blog"]) c.create("v1/namespaces", { metadata: { name: ns } });
  const ingress = (namespace: string, name: string, host: string) => ({
    metadata: { namespace, name, labels: { app: name } },
    spec: {
      ingressClassName: "demo",
      rules: [
        {
          host,
          http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name, port: { number: 80 } } } }] },
        },
      ],
    },
  });
  c.create(INGRESSES, ingress("shop", "web", "shop.example.com"));
  c.create(INGRESSES, ingress("shop", "api", "api.shop.example.com"));
  c.create(INGRESSES, ingress("blog", "www", "blog.example.com"));
}

export function kubeconfigFor(url: string, token: string | undefined, name: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    `current-context: ${name}`,
    "clusters:",
    `- name: ${name}`,
    "  cluster:",
    `    server: ${url}`,
    "contexts:",
    `- name: ${name}`,
    "  context:",
    `    cluster: ${name}`,
    `    user: ${name}`,
    "users:",
    `- name: ${name}`,
    `  user: ${token ? `{token: ${token}}` : "{}"}`,
    "",
  ].join("\n");
}

export interface CliHandle {
  sim: KubeSim;
  stop(): Promise<void>;
}

/** Runs kube-sim as the CLI does; returns a handle so tests can drive and stop it in-process. */
export async function runCli(argv: string[], out: (line: string) => void = console.log): Promise<CliHandle> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "0" },
      host: { type: "string", default: "127.0.0.1" },
      token: { type: "string", multiple: true },
      seed: { type: "string" },
      "churn-ms": { type: "string" },
      "kubeconfig-out": { type: "string" },
      "cluster-name": { type: "string", default: "kube-sim" },
    },
  });
  const tokens = values.token ?? [];
  const sim = await KubeSim.start({ port: Number(values.port), host: values.host, tokens });
  const cluster = sim.cluster();
  if (values.seed === "demo") seedDemo(cluster);
  else if (values.seed) throw new Error(`unknown seed "${values.seed}" (known: demo)`);
  let churn: NodeJS.Timeout | undefined;
  if (values["churn-ms"]) {
    let n = 0;
    churn = setInterval(() => {
      const current = cluster.get(INGRESSES, "shop", "web");
      if (!current) return;
      current.metadata.annotations = { ...(current.metadata.annotations as object), "demo.mcic.dev/tick": String(++n) };
      cluster.update(INGRESSES, current);
    }, Number(values["churn-ms"]));
  }
  if (values["kubeconfig-out"])
    writeFileSync(values["kubeconfig-out"], kubeconfigFor(sim.url, tokens[0], values["cluster-name"]), { mode: 0o600 });
  out(`kube-sim listening on ${sim.url}`);
  return {
    sim,
    stop: async () => {
      clearInterval(churn);
      await sim.stop();
    },
  };
}

// Started as a program (not imported by a test): run until SIGINT/SIGTERM.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runCli(process.argv.slice(2)).then(
    (handle) => {
      const stop = () => void handle.stop().then(() => process.exit(0));
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    },
    (err: unknown) => {
      console.error(`kube-sim: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
