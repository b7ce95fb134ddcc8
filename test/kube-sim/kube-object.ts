/** A stored Kubernetes object: whatever the client sent, plus the metadata the server owns. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** Store key and list order in one: real apiservers list sorted by namespace, then name. */
export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

export const keyOf = (o: KubeObject) => objectKey(o.metadata.namespace, o.metadata.name);

/** One line of a watch stream. Built once per change and shared by every watch that wants it. */
export function eventLine(type: string, object: unknown): string {
  return `${JSON.stringify({ type, object })}\n`;
}
