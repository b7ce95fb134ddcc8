import { randomBytes } from "node:crypto";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

export interface ObjectEventInput {
  cluster?: string;
  group?: string;
  resource?: string;
  namespace?: string | undefined;
  name: string;
  rv: number | string;
  type?: "ADDED" | "MODIFIED" | "DELETED";
  uid?: string;
  object?: Record<string, unknown>;
  snapshot?: boolean;
  requestId?: string;
}

/** A CloudEvent as mcic's dispatcher sends it for one envelope (docs/contract.md). */
export function objectEvent(i: ObjectEventInput) {
  const cluster = i.cluster ?? "east";
  const group = i.group ?? "networking.k8s.io";
  const resource = i.resource ?? "ingresses";
  const type = i.type ?? "MODIFIED";
  const uid = i.uid ?? `uid-${i.name}`;
  const namespace = "namespace" in i ? i.namespace : "shop";
  const rv = String(i.rv);
  const id = `${cluster}/${uid}/${rv}/${type}`;
  return {
    specversion: "1.0",
    id,
    source: `/clusters/${cluster}`,
    type: `dev.mcic.${resource}.${type.toLowerCase()}`,
    subject: namespace ? `${namespace}/${i.name}` : i.name,
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    data: {
      id,
      cluster,
      group,
      version: "v1",
      resource,
      kind: "Ingress",
      ...(namespace ? { namespace } : {}),
      name: i.name,
      uid,
      resourceVersion: rv,
      type,
      observedAt: new Date().toISOString(),
      object: i.object ?? {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { name: i.name, ...(namespace ? { namespace } : {}), uid, resourceVersion: rv },
        spec: { rules: [{ host: `${i.name}.example.com` }] },
      },
      ...(i.snapshot ? { snapshot: true } : {}),
      ...(i.requestId ? { requestId: i.requestId } : {}),
    },
  };
}

export function completedEvent(i: {
  cluster?: string;
  group?: string;
  resource?: string;
  requestId: string;
  count: number;
  rv: number | string;
}) {
  const cluster = i.cluster ?? "east";
  const group = i.group ?? "networking.k8s.io";
  const resource = i.resource ?? "ingresses";
  const token = group === "" ? "core" : group.replaceAll(".", "_");
  return {
    specversion: "1.0",
    id: `snapshot/${i.requestId}/${cluster}/${token}/${resource}`,
    source: `/clusters/${cluster}`,
    type: "dev.mcic.snapshot.completed",
    subject: resource,
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    data: {
      cluster,
      group,
      version: "v1",
      resource,
      requestId: i.requestId,
      count: i.count,
      resourceVersion: String(i.rv),
    },
  };
}

export interface SignOptions {
  /** Unix seconds (default now). */
  timestamp?: number;
  id?: string;
}

/** Headers and body as mcic sends them: one `v1,` signature per secret, space-separated. */
export function signed(event: { id: string } | string, secrets: string[], o: SignOptions = {}) {
  const body = typeof event === "string" ? event : JSON.stringify(event);
  const id = o.id ?? (typeof event === "string" ? "raw" : event.id);
  const ts = o.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = secrets.map((s) => new Webhook(s).sign(id, new Date(ts * 1000), body)).join(" ");
  return {
    body,
    headers: {
      "content-type": "application/cloudevents+json",
      "webhook-id": id,
      "webhook-timestamp": String(ts),
      "webhook-signature": signature,
    } as Record<string, string>,
  };
}

/** A real HTTP server around a handler; `post` sends a signed request and answers status and JSON. */
export async function serve(handler: RequestListener) {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return {
    url,
    post: async (req: { body: string; headers: Record<string, string> }, method = "POST") => {
      const res = await fetch(url, { method, headers: req.headers, body: method === "GET" ? undefined : req.body });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
