import { type Receiver, type TestServer, startNats, startReceiver, startRedis, waitFor } from "@mcic/core/testing";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { type Stack, startStack } from "../support/stack.js";
import { caDataOf, selfSignedCert } from "../support/tls.js";

const INGRESSES = "networking.k8s.io/v1/ingresses";

function ingress(namespace: string, name: string, host: string) {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { namespace, name, labels: { app: name } },
    spec: { rules: [{ host }] },
  };
}

interface CloudEventBody {
  specversion: string;
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: string;
  data: {
    type: string;
    name: string;
    namespace?: string;
    cluster: string;
    uid: string;
    resourceVersion: string;
    object: any;
  };
}

/** Verifies every request with the standardwebhooks library and returns the CloudEvents. */
function verified(receiver: Receiver, secret: string): CloudEventBody[] {
  const wh = new Webhook(secret);
  return receiver.requests.map((r) => {
    expect(r.headers["content-type"]).toBe("application/cloudevents+json");
    return wh.verify(r.body, {
      "webhook-id": String(r.headers["webhook-id"]),
      "webhook-timestamp": String(r.headers["webhook-timestamp"]),
      "webhook-signature": String(r.headers["webhook-signature"]),
    }) as CloudEventBody;
  });
}

describe("walking skeleton: a change in a cluster reaches a registered server", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let stack: Stack;
  // Tokens go over TLS only: the API refuses a token for an http:// cluster server.
  const tls = selfSignedCert();
  const caData = caDataOf(tls);

  beforeAll(async () => {
    [nats, redis, sim] = await Promise.all([startNats(), startRedis(), KubeSim.start({ tokens: ["sim-token"], tls })]);
    stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url, tokens: ["api-token"] });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await sim?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  async function registerServer(name: string, url: string, filters: object = {}): Promise<string> {
    const res = await stack.api("/api/v1/servers", { body: { name, url, filters } });
    expect(res.status).toBe(201);
    return res.body.secret as string;
  }

  async function waitWatching(cluster: string): Promise<void> {
    await waitFor(
      async () => {
        const res = await stack.api(`/api/v1/clusters/${cluster}`);
        return res.body.status?.resources?.every((r: { state: string }) => r.state === "watching");
      },
      { timeoutMs: 10_000, message: `cluster ${cluster} to be watching` },
    );
  }

  async function createUpdateDelete(
    clusterName: string,
    sc: ReturnType<KubeSim["cluster"]>,
    namespace: string,
    name: string,
  ) {
    sc.create(INGRESSES, ingress(namespace, name, `${name}.example.com`));
    const current = sc.get(INGRESSES, namespace, name);
    sc.update(INGRESSES, { ...current, spec: { rules: [{ host: `${name}-v2.example.com` }] } });
    sc.delete(INGRESSES, namespace, name);
    return clusterName;
  }

  it("delivers ADDED, MODIFIED, DELETED in order, as signed CloudEvents, and honours filters (cluster by server + token)", async () => {
    const all = await startReceiver();
    const other = await startReceiver();
    try {
      const allSecret = await registerServer("all-events", all.url, { clusters: ["east"] });
      const otherSecret = await registerServer("other-ns", other.url, { clusters: ["east"], namespaces: ["other"] });
      const sc = sim.cluster();
      const res = await stack.api("/api/v1/clusters", {
        body: { name: "east", server: sc.url, token: "sim-token", caData },
      });
      expect(res.status).toBe(201);
      await waitWatching("east");

      await createUpdateDelete("east", sc, "shop", "web");
      await all.waitForCount(3);
      const events = verified(all, allSecret);
      expect(events.map((e) => e.data.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
      expect(events.map((e) => e.type)).toEqual([
        "dev.mcic.ingresses.added",
        "dev.mcic.ingresses.modified",
        "dev.mcic.ingresses.deleted",
      ]);
      for (const e of events) {
        expect(e).toMatchObject({
          specversion: "1.0",
          source: "/clusters/east",
          subject: "shop/web",
          datacontenttype: "application/json",
        });
        expect(e.id).toBe(`east/${e.data.uid}/${e.data.resourceVersion}/${e.data.type}`);
        expect(Number.isNaN(Date.parse(e.time))).toBe(false);
      }
      expect(events[1]?.data.object.spec.rules[0].host).toBe("web-v2.example.com");
      expect(new Set(events.map((e) => e.id)).size).toBe(3);

      // The filtered server gets what is in its namespace, and nothing from "shop".
      sc.create(INGRESSES, ingress("other", "api", "api.example.com"));
      await other.waitForCount(1);
      const otherEvents = verified(other, otherSecret);
      expect(otherEvents.map((e) => `${e.data.type} ${e.subject}`)).toEqual(["ADDED other/api"]);
      await all.waitForCount(4);
      expect(other.requests).toHaveLength(1);
    } finally {
      await Promise.all([all.close(), other.close()]);
    }
  });

  it("does the same for a cluster registered by kubeconfig with a chosen context", async () => {
    const receiver = await startReceiver();
    try {
      const secret = await registerServer("kc-events", receiver.url, { clusters: ["west"] });
      const sc = sim.cluster("west");
      const kubeconfig = [
        "apiVersion: v1",
        "kind: Config",
        "current-context: wrong",
        "contexts:",
        "- {name: wrong, context: {cluster: nowhere, user: sim}}",
        "- {name: sim-west, context: {cluster: west, user: sim}}",
        "clusters:",
        "- {name: nowhere, cluster: {server: 'https://127.0.0.1:1'}}",
        `- {name: west, cluster: {server: '${sc.url}', certificate-authority-data: ${caData}}}`,
        "users:",
        "- {name: sim, user: {token: sim-token}}",
      ].join("\n");
      const res = await stack.api("/api/v1/clusters", { body: { name: "west", kubeconfig, context: "sim-west" } });
      expect(res.status).toBe(201);
      expect(JSON.stringify(res.body)).not.toContain("sim-token");
      await waitWatching("west");

      await createUpdateDelete("west", sc, "blog", "www");
      await receiver.waitForCount(3);
      const events = verified(receiver, secret);
      expect(events.map((e) => `${e.data.type} ${e.source} ${e.subject}`)).toEqual([
        "ADDED /clusters/west blog/www",
        "MODIFIED /clusters/west blog/www",
        "DELETED /clusters/west blog/www",
      ]);
    } finally {
      await receiver.close();
    }
  });

  it("publishes objects that existed before registration as ADDED", async () => {
    const receiver = await startReceiver();
    try {
      const sc = sim.cluster("north");
      sc.create(INGRESSES, ingress("shop", "pre", "pre.example.com"));
      const secret = await registerServer("north-events", receiver.url, { clusters: ["north"] });
      expect(
        (await stack.api("/api/v1/clusters", { body: { name: "north", server: sc.url, token: "sim-token", caData } }))
          .status,
      ).toBe(201);
      await receiver.waitForCount(1);
      expect(verified(receiver, secret).map((e) => `${e.data.type} ${e.subject}`)).toEqual(["ADDED shop/pre"]);
    } finally {
      await receiver.close();
    }
  });
});
