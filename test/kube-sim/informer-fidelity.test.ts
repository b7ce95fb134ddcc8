import { KubeConfig, NetworkingV1Api, type V1Ingress, makeInformer } from "@kubernetes/client-node";
import { waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selfSignedCert } from "../support/tls.js";
import { KubeSim } from "./index.js";

// @kubernetes/client-node is the reference client: if its informer works against kube-sim, the
// simulator speaks list/watch the way a real API server does.
describe("kube-sim with @kubernetes/client-node's informer", () => {
  let sim: KubeSim;
  let api: NetworkingV1Api;
  let kc: KubeConfig;

  beforeAll(async () => {
    // client-node refuses bearer tokens over plain HTTP, so this also checks kube-sim's TLS.
    const tls = selfSignedCert();
    sim = await KubeSim.start({ tokens: ["informer-token"], tls });
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        { name: "sim", server: sim.url, skipTLSVerify: false, caData: Buffer.from(tls.cert).toString("base64") },
      ],
      users: [{ name: "u", token: "informer-token" }],
      contexts: [{ name: "sim", cluster: "sim", user: "u" }],
      currentContext: "sim",
    });
    api = kc.makeApiClient(NetworkingV1Api);
  });
  afterAll(async () => {
    await sim.stop();
  });

  const ingress = (name: string, host: string): V1Ingress => ({
    metadata: { name, namespace: "shop" },
    spec: { rules: [{ host }] },
  });

  it("sees creates, updates and deletes made through the typed client, and recovers from 410 Gone", async () => {
    const seen: string[] = [];
    const informer = makeInformer<V1Ingress>(kc, "/apis/networking.k8s.io/v1/ingresses", () =>
      api.listIngressForAllNamespaces(),
    );
    informer.on("add", (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on("update", (o) => seen.push(`update ${o.metadata?.name} ${o.spec?.rules?.[0]?.host}`));
    informer.on("delete", (o) => seen.push(`delete ${o.metadata?.name}`));
    const errors: unknown[] = [];
    let done = false;
    informer.on("error", (err) => {
      errors.push(err);
      // The informer stops on errors; restarting is what its docs tell callers to do (but not once
      // the test has stopped it, or a late restart outlives the simulator).
      setTimeout(() => {
        if (!done) void informer.start();
      }, 50);
    });

    await api.createNamespacedIngress({ namespace: "shop", body: ingress("before", "before.example.com") });
    await informer.start();
    await waitFor(() => seen.includes("add before"), { message: "initial list" });

    const created = await api.createNamespacedIngress({ namespace: "shop", body: ingress("web", "a.example.com") });
    expect(created.metadata?.uid).toBeTruthy();
    await api.replaceNamespacedIngress({
      name: "web",
      namespace: "shop",
      body: { ...created, spec: { rules: [{ host: "b.example.com" }] } },
    });
    await api.deleteNamespacedIngress({ name: "web", namespace: "shop" });
    await waitFor(() => seen.includes("delete web"), { message: "delete event" });
    expect(seen).toEqual(["add before", "add web", "update web b.example.com", "delete web"]);

    // History gone and the stream ended as on a server-side timeout: the informer reconnects on
    // its own, gets 410 Expired, relists and goes on, without reporting an error.
    sim.cluster().compact();
    sim.cluster().closeWatches({ graceful: true });
    await api.createNamespacedIngress({ namespace: "shop", body: ingress("after", "after.example.com") });
    await waitFor(() => seen.includes("add after"), { timeoutMs: 15_000, message: "event after compaction" });
    expect(errors).toEqual([]);

    // The connection dropped mid-stream: the informer reports it, and once restarted catches up.
    sim.cluster().compact();
    sim.cluster().closeWatches();
    await api.deleteNamespacedIngress({ name: "before", namespace: "shop" });
    await waitFor(() => seen.includes("delete before"), { timeoutMs: 15_000, message: "event after the cut" });
    expect(errors.length).toBeGreaterThan(0);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(["after"]);
    done = true;
    await informer.stop();
  });

  it("answers bad writes with Status errors the client understands", async () => {
    await api.createNamespacedIngress({ namespace: "shop", body: ingress("dup", "d.example.com") });
    await expect(
      api.createNamespacedIngress({ namespace: "shop", body: ingress("dup", "d.example.com") }),
    ).rejects.toMatchObject({ code: 409 });
    await expect(api.readNamespacedIngress({ name: "missing", namespace: "shop" })).rejects.toMatchObject({
      code: 404,
    });
  });
});
