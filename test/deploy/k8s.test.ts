import { beforeAll, describe, expect, it } from "vitest";
import { NAMESPACE, type Obj, byPrefix, container, find, matches, render, validate } from "./k8s-render.js";
import { requireBinary } from "./require-binary.js";
import { MCIC_SERVICES, SERVICE_PORTS, SPEC_VARS } from "./spec-facts.js";

// Every overlay of k8s/ rendered and validated (k8s-render.ts), then the facts operators rely on
// asserted on the rendered objects. k8s-ha.test.ts has the ha overlay's own checks.

describe("kubernetes manifests: validation catches mistakes", () => {
  it("reports a misspelt field, a missing required field and a wrong type", async () => {
    const broken = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "broken" },
      spec: {
        selector: { matchLabels: { a: "b" } },
        template: {
          metadata: { labels: { a: "b" } },
          spec: { containers: [{ name: "c", image: "x", readinesProbe: {}, ports: [{ containerPort: "80" }] }] },
        },
      },
    };
    const problems = await validate([broken]);
    expect(problems.join("\n")).toMatch(/readinesProbe: unknown field of V1Container/);
    expect(problems.join("\n")).toMatch(/containerPort/);
    const noSelector = structuredClone(broken) as Obj;
    delete noSelector.spec.selector;
    noSelector.spec.template.spec.containers[0] = { name: "c", image: "x" };
    expect((await validate([noSelector])).join("\n")).toMatch(/selector/);
    expect(await validate([{ apiVersion: "example.com/v1", kind: "Thing", metadata: { name: "x" } }])).not.toEqual([]);
  });
});

for (const overlay of ["dev", "prod", "ha"] as const) {
  describe(`k8s/overlays/${overlay}`, () => {
    let objects: Obj[];

    beforeAll(() => {
      requireBinary("kubectl", "apt-get install kubernetes-client");
      objects = render(overlay);
    });

    it("renders objects that all validate against the Kubernetes schemas", async () => {
      expect(objects.length).toBeGreaterThan(10);
      expect(await validate(objects)).toEqual([]);
    });

    it("puts every namespaced object into the overlay's namespace", () => {
      const clusterScoped = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding"]);
      for (const o of objects) {
        if (clusterScoped.has(o.kind)) expect(o.metadata.namespace, o.kind).toBeUndefined();
        else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NAMESPACE);
      }
      expect(find(objects, "Namespace", NAMESPACE).metadata.labels["pod-security.kubernetes.io/enforce"]).toBe(
        "restricted",
      );
    });

    it("runs api, watcher and dispatcher with probes on /healthz and /readyz at their ports", () => {
      for (const name of MCIC_SERVICES) {
        const d = find(objects, "Deployment", `mcic-${name}`);
        const c = container(d);
        expect(c.image).toMatch(new RegExp(`^mcic/${name}:`));
        expect(c.ports).toEqual([expect.objectContaining({ containerPort: SERVICE_PORTS[name] })]);
        expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: SERVICE_PORTS[name] });
        expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: SERVICE_PORTS[name] });
        const portVar = name === "api" ? "API_PORT" : "METRICS_PORT";
        expect(c.env.find((e: Obj) => e.name === portVar)?.value).toBe(String(SERVICE_PORTS[name]));
        expect(d.spec.template.metadata.annotations).toEqual({
          "prometheus.io/scrape": "true",
          "prometheus.io/port": String(SERVICE_PORTS[name]),
          "prometheus.io/path": "/metrics",
        });
        expect(matches(d.spec.selector, d.spec.template.metadata.labels)).toBe(true);
        expect(c.resources.requests.cpu).toBeTruthy();
        expect(c.resources.requests.memory).toBeTruthy();
        expect(c.resources.limits.memory).toBeTruthy();
      }
      const replicas = (name: string) => find(objects, "Deployment", `mcic-${name}`).spec.replicas;
      expect(replicas("watcher")).toBe(2);
      // ha builds on prod.
      expect(replicas("api")).toBe(overlay === "dev" ? 1 : 2);
      expect(replicas("dispatcher")).toBe(overlay === "dev" ? 2 : 3);
    });

    it("runs every pod as non-root with a read-only root filesystem and no capabilities", () => {
      const workloads = objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
      for (const w of workloads) {
        const pod = w.spec.template.spec;
        expect(pod.securityContext.runAsNonRoot, w.metadata.name).toBe(true);
        expect(pod.securityContext.seccompProfile, w.metadata.name).toEqual({ type: "RuntimeDefault" });
        expect(pod.securityContext.runAsUser, w.metadata.name).toBeGreaterThan(0);
        expect(pod.automountServiceAccountToken, w.metadata.name).toBe(false);
        for (const c of [...(pod.initContainers ?? []), ...pod.containers] as Obj[]) {
          expect(c.securityContext.readOnlyRootFilesystem, c.name).toBe(true);
          expect(c.securityContext.allowPrivilegeEscalation, c.name).toBe(false);
          expect(c.securityContext.capabilities.drop, c.name).toEqual(["ALL"]);
        }
      }
    });

    it("gives each service its own ServiceAccount", () => {
      for (const name of MCIC_SERVICES) {
        const d = find(objects, "Deployment", `mcic-${name}`);
        expect(d.spec.template.spec.serviceAccountName).toBe(`mcic-${name}`);
        expect(find(objects, "ServiceAccount", `mcic-${name}`)).toBeTruthy();
      }
    });

    it("names each watcher replica after its pod (downward API)", () => {
      const c = container(find(objects, "Deployment", "mcic-watcher"));
      expect(c.env.find((e: Obj) => e.name === "WATCHER_ID")).toEqual({
        name: "WATCHER_ID",
        valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
      });
    });

    it("configures the services with the contract's variables from the ConfigMap and the Secret", () => {
      const config = byPrefix(objects, "ConfigMap", "mcic-config");
      for (const key of Object.keys(config.data)) expect(SPEC_VARS, key).toContain(key);
      expect(config.data.NATS_URL).toMatch(/^nats:\/\//);
      expect(config.data.REDIS_URL).toMatch(/^(rediss?|redis\+sentinel):\/\//);
      for (const name of MCIC_SERVICES) {
        const c = container(find(objects, "Deployment", `mcic-${name}`));
        expect(c.envFrom).toEqual([{ configMapRef: { name: config.metadata.name } }]);
        for (const e of c.env as Obj[]) expect(SPEC_VARS, e.name).toContain(e.name);
        const secretRefs = (c.env as Obj[])
          .filter((e) => e.valueFrom?.secretKeyRef)
          .map((e) => e.valueFrom.secretKeyRef);
        expect(secretRefs.map((r) => r.key).sort()).toEqual(
          name === "api" ? ["API_TOKENS", "MCIC_SECRET_KEY"] : ["MCIC_SECRET_KEY"],
        );
        const secretName =
          overlay === "dev" ? byPrefix(objects, "Secret", "mcic-secrets-").metadata.name : "mcic-secrets";
        for (const ref of secretRefs) expect(ref.name).toBe(secretName);
      }
    });

    it("exposes the api through a Service on 8000", () => {
      const svc = find(objects, "Service", "mcic-api");
      expect(svc.spec.ports).toEqual([expect.objectContaining({ port: 8000, targetPort: "http" })]);
      const api = find(objects, "Deployment", "mcic-api");
      expect(matches({ matchLabels: svc.spec.selector }, api.spec.template.metadata.labels)).toBe(true);
      expect(container(api).ports[0].name).toBe("http");
    });

    it("keeps one watcher and one dispatcher through voluntary disruptions", () => {
      for (const name of ["watcher", "dispatcher"]) {
        const pdb = find(objects, "PodDisruptionBudget", `mcic-${name}`);
        expect(pdb.apiVersion).toBe("policy/v1");
        expect(pdb.spec.minAvailable).toBe(1);
        const d = find(objects, "Deployment", `mcic-${name}`);
        expect(matches(pdb.spec.selector, d.spec.template.metadata.labels)).toBe(true);
      }
    });

    it("scales dispatchers on CPU with an autoscaling/v2 HPA", () => {
      const hpa = find(objects, "HorizontalPodAutoscaler", "mcic-dispatcher");
      expect(hpa.apiVersion).toBe("autoscaling/v2");
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "mcic-dispatcher" });
      expect(hpa.spec.metrics).toEqual([
        { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
      ]);
      expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual(overlay === "dev" ? [2, 10] : [3, 20]);
      const d = find(objects, "Deployment", "mcic-dispatcher");
      expect(d.spec.replicas).toBe(hpa.spec.minReplicas);
      expect(container(d).resources.requests.cpu).toBeTruthy();
    });

    it("lets the watcher's account read what it watches, cluster-wide, plus discovery", () => {
      const role = find(objects, "ClusterRole", "mcic-watcher");
      const grants = (group: string, resource: string) =>
        role.rules.some(
          (r: Obj) =>
            r.apiGroups?.includes(group) &&
            r.resources?.includes(resource) &&
            ["get", "list", "watch"].every((v) => r.verbs.includes(v)),
        );
      expect(grants("networking.k8s.io", "ingresses")).toBe(true);
      for (const resource of ["services", "endpoints", "namespaces"]) expect(grants("", resource), resource).toBe(true);
      const urls = role.rules.flatMap((r: Obj) => r.nonResourceURLs ?? []);
      expect(urls).toEqual(expect.arrayContaining(["/api", "/apis", "/version"]));
      for (const r of role.rules as Obj[])
        expect(r.verbs.some((v: string) => !["get", "list", "watch"].includes(v))).toBe(false);

      const binding = find(objects, "ClusterRoleBinding", "mcic-watcher");
      expect(binding.roleRef).toEqual({
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "mcic-watcher",
      });
      expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "mcic-watcher", namespace: NAMESPACE }]);
      const token = find(objects, "Secret", "mcic-watcher-token");
      expect(token.type).toBe("kubernetes.io/service-account-token");
      expect(token.metadata.annotations["kubernetes.io/service-account.name"]).toBe("mcic-watcher");
    });

    it("lets anyone reach the api, only the monitoring namespace reach worker metrics, and egress out", () => {
      const api = find(objects, "NetworkPolicy", "mcic-api");
      expect(api.spec.policyTypes).toEqual(["Ingress", "Egress"]);
      expect(api.spec.ingress).toEqual([{ ports: [{ protocol: "TCP", port: 8000 }] }]);
      expect(api.spec.egress).toEqual([{}]);
      expect(matches(api.spec.podSelector, find(objects, "Deployment", "mcic-api").spec.template.metadata.labels)).toBe(
        true,
      );

      const workers = find(objects, "NetworkPolicy", "mcic-workers");
      expect(workers.spec.ingress).toEqual([
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
          ports: [
            { protocol: "TCP", port: 9464 },
            { protocol: "TCP", port: 9465 },
          ],
        },
      ]);
      expect(workers.spec.egress).toEqual([{}]);
      expect(workers.spec.podSelector.matchExpressions).toEqual([
        { key: "app.kubernetes.io/component", operator: "In", values: ["watcher", "dispatcher"] },
      ]);
    });

    if (overlay === "dev") {
      it("brings NATS with JetStream and Redis with AOF, on volumes, where the ConfigMap points", () => {
        const config = byPrefix(objects, "ConfigMap", "mcic-config");
        const nats = find(objects, "StatefulSet", "nats");
        const natsArgs = container(nats).args as string[];
        expect(natsArgs).toContain("-js");
        const storeDir = natsArgs[natsArgs.indexOf("-sd") + 1];
        expect(container(nats).volumeMounts).toEqual([{ name: "data", mountPath: storeDir }]);
        expect(nats.spec.volumeClaimTemplates[0].metadata.name).toBe("data");
        expect(find(objects, "Service", "nats").spec.ports).toEqual(
          expect.arrayContaining([expect.objectContaining({ port: 4222 })]),
        );
        expect(config.data.NATS_URL).toBe("nats://nats:4222");

        const redis = find(objects, "StatefulSet", "redis");
        const redisArgs = container(redis).args as string[];
        expect(redisArgs[redisArgs.indexOf("--appendonly") + 1]).toBe("yes");
        expect(container(redis).volumeMounts).toEqual([{ name: "data", mountPath: "/data" }]);
        expect(find(objects, "Service", "redis").spec.ports).toEqual([expect.objectContaining({ port: 6379 })]);
        expect(config.data.REDIS_URL).toBe("redis://redis:6379");
        for (const s of [nats, redis]) {
          const svc = find(objects, "Service", s.metadata.name);
          expect(s.spec.serviceName).toBe(svc.metadata.name);
          expect(matches({ matchLabels: svc.spec.selector }, s.spec.template.metadata.labels)).toBe(true);
        }
      });

      it("uses :dev images and a generated dev Secret with a valid 32-byte key", () => {
        for (const name of MCIC_SERVICES)
          expect(container(find(objects, "Deployment", `mcic-${name}`)).image).toBe(`mcic/${name}:dev`);
        const secret = byPrefix(objects, "Secret", "mcic-secrets-");
        const value = (key: string) => Buffer.from(secret.data[key], "base64").toString("utf8");
        expect(value("API_TOKENS")).toBeTruthy();
        expect(Buffer.from(value("MCIC_SECRET_KEY"), "base64")).toHaveLength(32);
      });
    }

    if (overlay === "prod") {
      it("points at existing NATS and Redis and replicates the stream 3 times", () => {
        const config = byPrefix(objects, "ConfigMap", "mcic-config");
        expect(config.data.STREAM_REPLICAS).toBe("3");
        expect(config.data.NATS_URL.split(",")).toHaveLength(3);
        expect(config.data.NATS_URL).not.toBe("nats://nats:4222");
        expect(config.data.REDIS_URL).not.toBe("redis://redis:6379");
        expect(objects.filter((o) => o.kind === "StatefulSet")).toEqual([]);
      });
    }

    if (overlay !== "dev") {
      it("pins images and ships no Secret", () => {
        for (const name of MCIC_SERVICES) {
          expect(container(find(objects, "Deployment", `mcic-${name}`)).image).toMatch(
            new RegExp(`^mcic/${name}(:\\d+\\.\\d+\\.\\d+|@sha256:[0-9a-f]{64})$`),
          );
        }
        // Credentials are created out of band (see the overlay's kustomization.yaml).
        expect(objects.filter((o) => o.kind === "Secret").map((o) => o.metadata.name)).toEqual(["mcic-watcher-token"]);
      });
    }
  });
}
