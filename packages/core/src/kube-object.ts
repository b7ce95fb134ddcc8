/**
 * A Kubernetes object as far as mcic needs to know it: the metadata every object carries, the
 * rest left open. The watcher reads it from clusters; the test cluster simulator stores it.
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
