#!/usr/bin/env node
import { realpathSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { churnDemo, seedDemo } from "./demo-seed.js";
import { demoCertificate } from "./demo-tls.js";
import { KubeSim } from "./index.js";
import { kubeconfigFor } from "./kubeconfig.js";

export const USAGE =
  "usage: kube-sim [--port 6443] [--host 127.0.0.1] [--token T]... [--seed demo] [--churn-ms 3000] " +
  "[--kubeconfig-out path] [--cluster-name name] [--tls-dir dir]";

export interface CliHandle {
  sim: KubeSim;
  stop(): Promise<void>;
}

function number(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, not "${value}"`);
  return n;
}

/** Runs kube-sim as the CLI does and returns a handle, so tests can drive and stop it in-process. */
export async function runCli(argv: string[], out: (line: string) => void = console.log): Promise<CliHandle> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: "string", default: "0" },
      host: { type: "string", default: "127.0.0.1" },
      token: { type: "string", multiple: true, default: [] },
      seed: { type: "string" },
      "churn-ms": { type: "string" },
      "kubeconfig-out": { type: "string" },
      "cluster-name": { type: "string", default: "kube-sim" },
      // Serve HTTPS with the certificate kept in (or first made into) this directory.
      "tls-dir": { type: "string" },
    },
  });
  if (values.seed !== undefined && values.seed !== "demo")
    throw new Error(`unknown seed "${values.seed}" (known: demo)`);
  const churnMs = values["churn-ms"] === undefined ? 0 : number(values["churn-ms"], "--churn-ms");
  const tls = values["tls-dir"] === undefined ? undefined : demoCertificate(values["tls-dir"]);
  const sim = await KubeSim.start({
    port: number(values.port, "--port"),
    host: values.host,
    tokens: values.token,
    tls,
  });
  const cluster = sim.cluster();
  if (values.seed === "demo") seedDemo(cluster);
  const stopChurn = churnMs > 0 ? churnDemo(cluster, churnMs) : () => {};
  if (values["kubeconfig-out"]) {
    const text = kubeconfigFor(sim.url, values.token[0], values["cluster-name"], tls?.cert);
    writeFileSync(values["kubeconfig-out"], text, { mode: 0o600 });
  }
  out(`kube-sim listening on ${sim.url}`);
  return {
    sim,
    stop: async () => {
      stopChurn();
      await sim.stop();
    },
  };
}

/** True when this file is the program node was started with (npm's bin links included), not an import. */
function isMain(): boolean {
  const started = process.argv[1];
  if (!started) return false;
  try {
    return realpathSync(started) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  runCli(process.argv.slice(2)).then(
    (handle) => {
      const stop = () => void handle.stop().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    },
    (err: unknown) => {
      console.error(`kube-sim: ${(err as Error).message}\n${USAGE}`);
      process.exit(2);
    },
  );
}
