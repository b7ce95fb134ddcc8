import type { KubeObject as CoreKubeObject } from "@mcic/core";

/** A stored Kubernetes object: whatever the client sent, plus the metadata the server owns. */
export interface KubeObject extends CoreKubeObject {
  metadata: CoreKubeObject["metadata"] & {
    creationTimestamp: string;
    generation?: number;
    annotations?: Record<string, string>;
  };
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
