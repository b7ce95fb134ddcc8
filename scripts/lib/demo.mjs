// The demo of `make run`: kube-sim as cluster "demo" over HTTPS (certificate and token kept in the
// data directory, kubeconfig written there for kubectl and for the registration) and a receiver
// that prints every event with its signature checked.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDemoRegistration } from "./api-client.mjs";
import { say, waitForLine } from "./processes.mjs";

function demoToken(dataDir) {
  const file = join(dataDir, "demo-token");
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

async function listenReceiver(startDemoReceiver, printer, port) {
  const write = (line) => printer.line("demo-receiver", line);
  try {
    return await startDemoReceiver({ port, write });
  } catch (err) {
    if (err.code !== "EADDRINUSE") throw err;
    say(`port ${port} is taken: the demo receiver listens on a random port instead (set DEMO_RECEIVER_PORT)`);
    return startDemoReceiver({ port: 0, write });
  }
}

/** Registrations found before this run registers its own: reported; with the demo on, the demo's own removed. */
export async function clearEarlierRun(api, { demo, apiPort }) {
  const clusters = (await api("GET", "/clusters")).body ?? [];
  const servers = (await api("GET", "/servers")).body ?? [];
  const found = [...clusters.map((c) => `cluster ${c.name}`), ...servers.map((s) => `server ${s.name}`)];
  if (found.length > 0) say(`found registered from earlier runs: ${found.join(", ")}`);
  const kept = [];
  for (const [kind, list] of [
    ["cluster", clusters],
    ["server", servers],
  ]) {
    for (const { name } of list) {
      if (!demo || !isDemoRegistration(kind, name)) kept.push(`${kind} ${name}`);
      // A fresh receiver name each run: retries still queued for the last run's receiver are dropped.
      else await api("DELETE", `/${kind}s/${encodeURIComponent(name)}`);
    }
  }
  if (kept.length > 0) {
    say(`these stay registered (events keep going to the servers): ${kept.join(", ")}`);
    say(
      `delete one with curl -X DELETE localhost:${apiPort}/api/v1/servers/<name>; make reset removes the demo's and the data`,
    );
  }
}

export async function startDemo({ root, dataDir, processes, printer, api, receiverPort }) {
  const { startDemoReceiver } = await import(join(root, "test/dist/dev/demo-receiver.js"));
  const kubeconfig = join(dataDir, "demo-kubeconfig.yaml");
  const sim = processes.start("kube-sim", process.execPath, [
    join(root, "test/dist/kube-sim/cli.js"),
    ...[
      "--port",
      process.env.KUBE_SIM_PORT ?? "0",
      "--seed",
      "demo",
      "--churn-ms",
      process.env.DEMO_CHURN_MS ?? "3000",
    ],
    ...["--cluster-name", "demo", "--kubeconfig-out", kubeconfig],
    ...["--tls-dir", join(dataDir, "kube-sim-tls"), "--token", demoToken(dataDir)],
  ]);
  await waitForLine(sim, /kube-sim listening on (\S+)/);
  const receiver = await listenReceiver(startDemoReceiver, printer, receiverPort);

  const name = `demo-receiver-${randomBytes(2).toString("hex")}`;
  // No snapshot: registering the cluster right after publishes its objects as ADDED anyway.
  const server = await api("POST", "/servers", { name, url: `${receiver.url}/events`, snapshot: false });
  if (server.status !== 201) throw new Error(`registering the demo receiver failed: ${JSON.stringify(server.body)}`);
  receiver.trust("/events", server.body.secret);
  const cluster = await api("POST", "/clusters", { name: "demo", kubeconfig: readFileSync(kubeconfig, "utf8") });
  if (cluster.status !== 201) throw new Error(`registering the demo cluster failed: ${JSON.stringify(cluster.body)}`);
  say(`demo cluster registered; kubectl works with it: kubectl --kubeconfig ${kubeconfig} get ingress -A`);
  say(`demo receiver at ${receiver.url} prints every event it gets (server ${name})`);
  return { receiver, registered: { clusters: ["demo"], servers: [name] } };
}
