import {
  type Envelope,
  type EventType,
  type KubeObject,
  type ResourceRef,
  envelopeId,
  isSecretEnvelope,
} from "@mcic/core";

/**
 * Builds the envelope of one observed change; list items lack apiVersion/kind, so both are set.
 * `changedPaths`: a MODIFIED's changed sections (section-hashes.ts), sorted.
 */
export function buildEnvelope(
  cluster: string,
  ref: ResourceRef,
  kind: string,
  type: EventType,
  obj: KubeObject,
  observedAt: string,
  changedPaths?: string[],
): Envelope {
  const { metadata } = obj;
  const apiVersion = ref.group ? `${ref.group}/${ref.version}` : ref.version;
  // Watch events carry both already; only list items need the copy.
  const object = obj.apiVersion === apiVersion && obj.kind === kind ? obj : { ...obj, apiVersion, kind };
  const envelope: Envelope = {
    id: envelopeId(cluster, metadata.uid, metadata.resourceVersion, type),
    cluster,
    group: ref.group,
    version: ref.version,
    resource: ref.resource,
    kind,
    name: metadata.name,
    uid: metadata.uid,
    resourceVersion: metadata.resourceVersion,
    type,
    observedAt,
    object,
  };
  if (metadata.namespace) envelope.namespace = metadata.namespace;
  if (changedPaths) envelope.changedPaths = changedPaths;
  return envelope;
}

const CLOSE = Buffer.from("}");

/**
 * The envelope as JSON. `rawObject`, the object's own bytes from the watch stream, is spliced in
 * when the envelope carries that object unchanged: serialising and encoding every object again
 * was the largest single cost per event. A Secret gets none: its bytes hold its values in clear,
 * and the publisher serialises it once they are sealed.
 */
export function envelopeJson(envelope: Envelope, parsed: KubeObject, rawObject?: Buffer): string | Buffer | undefined {
  if (isSecretEnvelope(envelope)) return undefined;
  if (rawObject === undefined || envelope.object !== parsed) return JSON.stringify(envelope);
  const { object: _object, ...head } = envelope;
  return Buffer.concat([Buffer.from(`${JSON.stringify(head).slice(0, -1)},"object":`), rawObject, CLOSE]);
}
