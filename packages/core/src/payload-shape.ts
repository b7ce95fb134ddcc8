import type { Envelope } from "./envelope.js";

/** How a server wants objects in its deliveries (docs/contract.md "Servers"). */
export interface PayloadShape {
  /** `metadata`: the object reduced to apiVersion, kind and metadata (like Knative's Reference mode). */
  payload?: "full" | "metadata";
  /** managedFields are bulky server-side-apply bookkeeping: dropped unless asked for. */
  includeManagedFields?: boolean;
}

/** A short key naming a shape (with the Secret choice), so servers that want the same body share one. */
export function payloadShapeKey(shape: PayloadShape & { includeSecretData: boolean }): string {
  return `${shape.includeSecretData ? "s" : "r"}${shape.payload === "metadata" ? "m" : "f"}${shape.includeManagedFields ? "+" : ""}`;
}

/**
 * The envelope with its object in the server's shape. Returns the envelope itself when nothing
 * changes (a full payload of an object without managedFields: the delivery hot path). Apply it
 * after redaction, so a metadata-only Secret keeps its last-applied annotation REDACTED.
 */
export function shapeEnvelope(envelope: Envelope, shape: PayloadShape): Envelope {
  const { object } = envelope;
  const metadata = record(object.metadata);
  const strip = !shape.includeManagedFields && metadata !== undefined && "managedFields" in metadata;
  if (shape.payload !== "metadata" && !strip) return envelope;
  let shownMetadata: unknown = object.metadata;
  if (strip) {
    const { managedFields: _managed, ...rest } = metadata;
    shownMetadata = rest;
  }
  if (shape.payload === "metadata") {
    const reduced: Record<string, unknown> = { apiVersion: object.apiVersion, kind: object.kind };
    if (shownMetadata !== undefined) reduced.metadata = shownMetadata;
    return { ...envelope, object: reduced };
  }
  return { ...envelope, object: { ...object, metadata: shownMetadata } };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
