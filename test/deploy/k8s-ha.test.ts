import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { REDIS_HA_SCRIPT, argAfter, redisHaRequiredVars } from "./deploy-files.js";
import { type Obj, byPrefix, container, find, matches, render } from "./k8s-render.js";
import { requireBinary } from "./require-binary.js";
import { CLUSTER_STREAM_REPLICAS, MCIC_SERVICES, parseSentinelUrl } from "./spec-facts.js";

// k8s/overlays/ha beyond what k8s.test.ts checks of every overlay: the NATS pods really route to
// each other, the Redis nodes and sentinels run the script compose runs (compose-ha-run.test.ts
// runs it) with the variables it needs, and the services' URLs name those very pods.

const SCRIPT_VARS = redisHaRequiredVars();

/** `<statefulset>-<i>.<service>` for every pod: the names the headless Service resolves. */
function podNames(sts: Obj): string[] {
  return Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}.${sts.spec.serviceName}`);
}

function envValue(c: Obj, name: string): Obj | undefined {
  return (c.env as Obj[] | undefined)?.find((e) => e.name === name);
}

describe("k8s/overlays/ha", () => {
  let objects: Obj[];
  let config: Obj;

  beforeAll(() => {
    requireBinary("kubectl", "apt-get install kubernetes-client");
    objects = render("ha");
    config = byPrefix(objects, "ConfigMap", "mcic-config");
  });

  /** A StatefulSet and its governing headless Service, which publishes pod names before readiness. */
  function statefulSet(name: string): { sts: Obj; svc: Obj } {
    const sts = find(objects, "StatefulSet", name);
    const svc = find(objects, "Service", sts.spec.serviceName);
    expect(svc.spec.clusterIP).toBe("None");
    expect(svc.spec.publishNotReadyAddresses, name).toBe(true);
    expect(matches({ matchLabels: svc.spec.selector }, sts.spec.template.metadata.labels)).toBe(true);
    expect(matches(sts.spec.selector, sts.spec.template.metadata.labels)).toBe(true);
    // Ordered start would never get past a first pod waiting for its peers, nor past a lost pod.
    expect(sts.spec.podManagementPolicy, name).toBe("Parallel");
    const pdb = find(objects, "PodDisruptionBudget", name);
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(matches(pdb.spec.selector, sts.spec.template.metadata.labels)).toBe(true);
    return { sts, svc };
  }

  it("runs a 3-node NATS 2.9 cluster routed through its headless Service, JetStream on volumes", () => {
    const { sts } = statefulSet("nats");
    expect(sts.spec.replicas).toBe(3);
    const c = container(sts);
    expect(c.image).toBe("nats:2.9-alpine");
    const args = c.args as string[];
    expect(args.slice(0, 2)).toEqual(["nats-server", "-js"]);
    expect(argAfter(args, "--server_name")).toBe("$(POD_NAME)");
    expect(envValue(c, "POD_NAME")).toEqual({
      name: "POD_NAME",
      valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
    });
    expect(argAfter(args, "--cluster_name")).toBeTruthy();

    const clusterPort = new URL(argAfter(args, "--cluster")).port;
    expect(argAfter(args, "--cluster")).toBe(`nats://0.0.0.0:${clusterPort}`);
    expect(argAfter(args, "--routes").split(",")).toEqual(podNames(sts).map((pod) => `nats://${pod}:${clusterPort}`));
    const claim = sts.spec.volumeClaimTemplates[0].metadata.name;
    expect(c.volumeMounts).toContainEqual({ name: claim, mountPath: argAfter(args, "-sd") });

    const containerPorts = (c.ports as Obj[]).map((p) => p.containerPort).sort();
    expect(containerPorts).toEqual([argAfter(args, "-p"), clusterPort, argAfter(args, "-m")].map(Number).sort());
    const monitor = Number(argAfter(args, "-m"));
    // Started (and so ready) only once it has a meta leader and current streams.
    expect(c.startupProbe.httpGet).toEqual({ path: "/healthz", port: monitor });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/healthz?js-enabled-only=true", port: monitor });

    expect(config.data.NATS_URL.split(",")).toEqual(
      podNames(sts).map((pod) => `nats://${pod}:${argAfter(args, "-p")}`),
    );
    expect(config.data.STREAM_REPLICAS).toBe(String(CLUSTER_STREAM_REPLICAS));
  });

  it("runs 2 Redis nodes and 3 sentinels from deploy/redis/redis-ha.sh, with the URL the services use", () => {
    const script = byPrefix(objects, "ConfigMap", "redis-ha-script-");
    expect(script.data["redis-ha.sh"]).toBe(readFileSync(REDIS_HA_SCRIPT, "utf8"));
    const shared = byPrefix(objects, "ConfigMap", "redis-ha-config-");
    expect(SCRIPT_VARS).toEqual(["MASTER_NAME", "INITIAL_MASTER", "SENTINELS", "ANNOUNCE_HOST"]);

    const groups = [
      { name: "redis", mode: "redis", port: 6379, replicas: 2 },
      { name: "sentinel", mode: "sentinel", port: 26379, replicas: 3 },
    ];
    const pods: Record<string, string[]> = {};
    for (const group of groups) {
      const { sts, svc } = statefulSet(group.name);
      expect(sts.spec.replicas).toBe(group.replicas);
      pods[group.name] = podNames(sts).map((pod) => `${pod}:${group.port}`);
      const c = container(sts);
      const podSpec = sts.spec.template.spec;
      expect(c.image).toBe("redis:7-alpine");
      expect(podSpec.securityContext.runAsUser).toBe(999);

      const scripts = (podSpec.volumes as Obj[]).find((v) => v.configMap?.name === script.metadata.name);
      const mount = (c.volumeMounts as Obj[]).find((m) => m.name === scripts?.name);
      expect(mount?.readOnly).toBe(true);
      expect(c.command).toEqual(["sh", `${mount?.mountPath}/redis-ha.sh`, group.mode]);

      // The script's variables: the group's from the shared ConfigMap, the pod's own name here.
      expect(c.envFrom).toEqual([{ configMapRef: { name: shared.metadata.name } }]);
      const provided = [...Object.keys(shared.data), ...(c.env as Obj[]).map((e) => e.name)];
      for (const name of SCRIPT_VARS) expect(provided, `${group.name}: ${name}`).toContain(name);
      expect(envValue(c, "ANNOUNCE_HOST")?.value).toBe(`$(POD_NAME).${svc.metadata.name}`);
      expect(envValue(c, "POD_NAME")?.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
      expect((c.env as Obj[]).findIndex((e) => e.name === "POD_NAME")).toBeLessThan(
        (c.env as Obj[]).findIndex((e) => e.name === "ANNOUNCE_HOST"),
      );
      expect(c.ports).toEqual([expect.objectContaining({ containerPort: group.port })]);
      // It writes (AOF, the rewritten sentinel.conf) only in its working directory, a volume.
      expect((c.volumeMounts as Obj[]).find((m) => m.mountPath === c.workingDir)?.readOnly).not.toBe(true);
    }
    expect(find(objects, "StatefulSet", "redis").spec.volumeClaimTemplates[0].metadata.name).toBe("data");

    expect(shared.data.INITIAL_MASTER).toBe(pods.redis?.[0]);
    expect(shared.data.SENTINELS.split(",")).toEqual(pods.sentinel);
    expect(parseSentinelUrl(config.data.REDIS_URL)).toEqual({
      sentinels: pods.sentinel,
      masterName: shared.data.MASTER_NAME,
    });
  });

  it("lets only mcic's pods and the group's own reach NATS, Redis and Sentinel", () => {
    const mcicPod = { podSelector: { matchLabels: { "app.kubernetes.io/name": "mcic" } } };
    const podsOf = (name: string) => ({ podSelector: { matchLabels: { "app.kubernetes.io/name": name } } });
    for (const name of MCIC_SERVICES) {
      const labels = find(objects, "Deployment", `mcic-${name}`).spec.template.metadata.labels;
      expect(matches(mcicPod.podSelector, labels)).toBe(true);
    }
    const expected: Record<string, Obj[]> = {
      nats: [
        { from: [mcicPod], ports: [{ protocol: "TCP", port: 4222 }] },
        { from: [podsOf("nats")], ports: [{ protocol: "TCP", port: 6222 }] },
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
          ports: [{ protocol: "TCP", port: 8222 }],
        },
      ],
      redis: [{ from: [mcicPod, podsOf("redis"), podsOf("sentinel")], ports: [{ protocol: "TCP", port: 6379 }] }],
      sentinel: [{ from: [mcicPod, podsOf("redis"), podsOf("sentinel")], ports: [{ protocol: "TCP", port: 26379 }] }],
    };
    for (const [name, ingress] of Object.entries(expected)) {
      const policy = find(objects, "NetworkPolicy", name);
      expect(policy.spec.policyTypes).toEqual(["Ingress"]);
      expect(policy.spec.ingress, name).toEqual(ingress);
      const sts = find(objects, "StatefulSet", name);
      expect(matches(policy.spec.podSelector, sts.spec.template.metadata.labels)).toBe(true);
    }
  });
});
