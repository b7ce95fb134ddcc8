import { type Envelope, type EventType, envelopeId, eventSubject } from "@mcic/core";
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { type NatsConnection, connect } from "@nats-io/transport-node";

/** An ingress change envelope as the watcher would publish it. */
export function ingressEnvelope(
  cluster: string,
  name: string,
  rv: number,
  type: EventType = "MODIFIED",
  uid = `uid-${name}`,
): Envelope {
  return {
    id: envelopeId(cluster, uid, String(rv), type),
    cluster,
    group: "networking.k8s.io",
    version: "v1",
    resource: "ingresses",
    kind: "Ingress",
    namespace: "ns",
    name,
    uid,
    resourceVersion: String(rv),
    type,
    observedAt: new Date().toISOString(),
    object: {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name, namespace: "ns", uid, resourceVersion: String(rv) },
    },
  };
}

/** Publishes envelopes straight to the events stream, as a watcher does (same subject, same msg id). */
export class EventPublisher {
  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly prefix: string,
  ) {}

  static async connect(url: string, prefix = "mcic"): Promise<EventPublisher> {
    const nc = await connect({ servers: url, noAsyncTraces: true });
    return new EventPublisher(nc, jetstream(nc), prefix);
  }

  async publish(envelopes: Envelope[]): Promise<void> {
    await Promise.all(
      envelopes.map((e) => this.js.publish(eventSubject(this.prefix, e), JSON.stringify(e), { msgID: e.id })),
    );
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}
