import { type Receiver, startReceiver, waitFor } from "@mcic/core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { scrapeMetric } from "../support/stack.js";
import { useSimStack } from "../support/sim-stack.js";

const ING = "networking.k8s.io/v1/ingresses";
const SHOP_HOSTS = 'object.spec.rules.exists(r, r.host.endsWith(".shop.example"))';

function ingress(namespace: string, name: string, hosts: string[]) {
  return {
    metadata: { namespace, name },
    spec: hosts.length > 0 ? { rules: hosts.map((host) => ({ host })) } : { defaultBackend: { service: { name } } },
  };
}

describe("routing filters: CEL expression, excluded namespaces, name globs", () => {
  const env = useSimStack();
  const receivers: Receiver[] = [];

  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
  });

  async function server(name: string, filters: object): Promise<Receiver> {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const res = await env.stack.api("/api/v1/servers", { body: { name, url: receiver.url, snapshot: false, filters } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return receiver;
  }

  /** "<namespace>/<name>" (or name) of every event a receiver got, sorted. */
  const subjects = (r: Receiver) => r.requests.map((req) => JSON.parse(req.body).subject as string).sort();

  it("delivers to each server exactly its share", async () => {
    const all = await server("all", {});
    const shop = await server("shop", {
      resources: ["ingresses"],
      expression: `has(object.spec.rules) && ${SHOP_HOSTS}`,
    });
    // The same check without has(): an ingress without rules is an evaluation error, so no match.
    const unguarded = await server("unguarded", { resources: ["ingresses"], expression: SHOP_HOSTS });
    const noSystem = await server("no-system", { excludeNamespaces: ["kube-system", "staging"] });
    const named = await server("named", { names: ["web-*", "api-?"] });

    const sc = env.sim.cluster("routing");
    const res = await env.stack.api("/api/v1/clusters", {
      body: { name: "routing", server: sc.url, resources: ["ingresses", "namespaces"] },
    });
    expect(res.status).toBe(201);
    sc.create(ING, ingress("shop", "web-front", ["www.shop.example"]));
    sc.create(ING, ingress("shop", "api-1", ["api.other.example", "api.shop.example"]));
    sc.create(ING, ingress("shop", "api-12", ["api.other.example"]));
    sc.create(ING, ingress("kube-system", "sys-web", ["sys.shop.example"]));
    sc.create(ING, ingress("staging", "blog", ["blog.example"]));
    sc.create(ING, ingress("shop", "no-rules", []));
    // Cluster-scoped: never excluded by excludeNamespaces.
    sc.create("v1/namespaces", { metadata: { name: "staging" } });

    // Last, an ingress every server wants: once a server has it, the earlier events were matched
    // and handed to its deliveries before it, so what it got by then is all it gets.
    sc.create(ING, ingress("shop", "web-zz", ["zz.shop.example"]));

    const marker = "shop/web-zz";
    const expected = {
      all: [
        "kube-system/sys-web",
        "shop/api-1",
        "shop/api-12",
        "shop/no-rules",
        "shop/web-front",
        marker,
        "staging",
        "staging/blog",
      ],
      shop: ["kube-system/sys-web", "shop/api-1", "shop/web-front", marker],
      unguarded: ["kube-system/sys-web", "shop/api-1", "shop/web-front", marker],
      "no-system": ["shop/api-1", "shop/api-12", "shop/no-rules", "shop/web-front", marker, "staging"],
      named: ["shop/api-1", "shop/web-front", marker],
    };
    const byName: Record<string, Receiver> = { all, shop, unguarded, "no-system": noSystem, named };
    for (const [name, want] of Object.entries(expected)) {
      const receiver = byName[name] as Receiver;
      await waitFor(() => subjects(receiver).includes(marker), { message: `${name} to get ${marker}` });
      await receiver.waitForCount(want.length);
      expect(subjects(receiver), name).toEqual(want);
    }

    const errors = await scrapeMetric(
      env.stack.services.dispatcher,
      "mcic_dispatcher_filter_errors_total",
      'server="unguarded"',
    );
    expect(errors).toBe(1);
    expect(
      await scrapeMetric(env.stack.services.dispatcher, "mcic_dispatcher_filter_errors_total", 'server="shop"'),
    ).toBe(0);
  });

  it("lists the event types of the watched resources", async () => {
    const res = await env.stack.api("/api/v1/event-types");
    expect(res.status).toBe(200);
    const types = res.body.map((e: { type: string }) => e.type);
    expect(types).toEqual(
      expect.arrayContaining([
        "dev.mcic.ingresses.added",
        "dev.mcic.ingresses.deleted",
        "dev.mcic.namespaces.modified",
        "dev.mcic.ping",
        "dev.mcic.snapshot.completed",
      ]),
    );
    expect(types).toHaveLength(8);
  });

  it("refuses a filter expression that does not compile, naming its position, and stores nothing", async () => {
    const res = await env.stack.api("/api/v1/servers", {
      body: { name: "broken", url: "http://127.0.0.1:9/x", filters: { expression: 'event.name == "a" &&' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: "filters.expression", message: expect.stringMatching(/at line 1, column 21/) },
    ]);
    expect((await env.stack.api("/api/v1/servers/broken")).status).toBe(404);
  });
});
