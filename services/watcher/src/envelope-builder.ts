import { type Envelope, type EventType, type ResourceRef, envelopeId } from "@mcic/core";
import type { KubeObject } from "./kube-client.js";

/** Builds the envelope of one observed change; list items lack apiVersion/kind, so both are set. */
export function buildEnvelope(
  cluster: string,
  ref: ResourceRef,
  kind: string,
  type: EventType,
  obj: KubeObject,
  observedAt: string,
): Envelope {
  const { metadata } = obj;
  const object = { ...obj, apiVersion: ref.group ? `${ref.group}/${ref.version}` : ref.version, kind };
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
  return envelope;
}
