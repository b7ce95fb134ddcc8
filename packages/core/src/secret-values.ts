import { z } from "zod";
import type { Envelope } from "./envelope.js";
import { McicError } from "./errors.js";
import { type SecretBox, sealContext } from "./secret-box.js";

export const REDACTED = "REDACTED";
/** `kubectl apply` copies the whole object, Secret values included, into this annotation. */
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

/** What `sealedSecretValues` holds once opened: the values exactly as the object had them. */
const SecretValuesSchema = z.object({
  data: z.record(z.string(), z.unknown()).optional(),
  stringData: z.record(z.string(), z.unknown()).optional(),
  lastApplied: z.string().optional(),
});
type SecretValues = z.infer<typeof SecretValuesSchema>;

/** Sealed Secret values that cannot be opened: wrong MCIC_SECRET_KEY, another envelope's blob, tampering. */
export class SealedSecretValuesError extends McicError {
  readonly eventId: string;
  constructor(eventId: string, cause: unknown) {
    super(
      "sealed_secret_values",
      `cannot open the sealed Secret values of event "${eventId}" (wrong MCIC_SECRET_KEY?): ${(cause as Error).message}`,
      500,
      { cause },
    );
    this.eventId = eventId;
  }
}

/** Core-group `secrets` only: a CRD that happens to be called `secrets` is not a Kubernetes Secret. */
export function isSecretEnvelope(envelope: Pick<Envelope, "group" | "resource">): boolean {
  return envelope.group === "" && envelope.resource === "secrets";
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function annotationsOf(object: Record<string, unknown>): Record<string, unknown> | undefined {
  return record(record(object.metadata)?.annotations);
}

function secretValuesOf(object: Record<string, unknown>): SecretValues | undefined {
  const values: SecretValues = {};
  const data = record(object.data);
  const stringData = record(object.stringData);
  const lastApplied = annotationsOf(object)?.[LAST_APPLIED_ANNOTATION];
  if (data) values.data = data;
  if (stringData) values.stringData = stringData;
  if (typeof lastApplied === "string") values.lastApplied = lastApplied;
  return Object.keys(values).length > 0 ? values : undefined;
}

/** A copy of the Secret with every value and the last-applied annotation replaced; keys are kept. */
function redactSecretObject(object: Record<string, unknown>): Record<string, unknown> {
  const out = { ...object };
  for (const field of ["data", "stringData"] as const) {
    const values = record(out[field]);
    if (values) out[field] = Object.fromEntries(Object.keys(values).map((k) => [k, REDACTED]));
  }
  const annotations = annotationsOf(object);
  if (annotations && LAST_APPLIED_ANNOTATION in annotations) {
    out.metadata = {
      ...record(object.metadata),
      annotations: { ...annotations, [LAST_APPLIED_ANNOTATION]: REDACTED },
    };
  }
  return out;
}

/**
 * The envelope as a server may see it: never the sealed blob, and for a server without
 * `includeSecretData` a Secret's values and last-applied annotation REDACTED. Deliveries,
 * snapshots, replays and the dead-letter listing all go through here. Returns the envelope itself
 * when nothing changes (the delivery hot path).
 */
export function redactEnvelope(envelope: Envelope, options: { includeSecretData: boolean }): Envelope {
  const secret = isSecretEnvelope(envelope);
  if (envelope.sealedSecretValues === undefined && (options.includeSecretData || !secret)) return envelope;
  const { sealedSecretValues: _sealed, ...rest } = envelope;
  return secret && !options.includeSecretData ? { ...rest, object: redactSecretObject(envelope.object) } : rest;
}

/**
 * The envelope to store: a Secret's values REDACTED in `object` and the originals sealed in
 * `sealedSecretValues`, bound to the envelope id. Other envelopes, and Secrets without values,
 * are returned as they are.
 */
export function sealSecretValues(envelope: Envelope, box: SecretBox): Envelope {
  if (!isSecretEnvelope(envelope) || envelope.sealedSecretValues !== undefined) return envelope;
  const values = secretValuesOf(envelope.object);
  if (!values) return envelope;
  return {
    ...envelope,
    object: redactSecretObject(envelope.object),
    sealedSecretValues: box.seal(JSON.stringify(values), sealContext.secretValues(envelope.id)),
  };
}

/**
 * The envelope with its Secret values back in place and without the sealed blob, for servers
 * with `includeSecretData`. Throws SealedSecretValuesError when the blob does not open.
 */
export function openSecretValues(envelope: Envelope, box: SecretBox): Envelope {
  const { sealedSecretValues: sealed, ...rest } = envelope;
  if (sealed === undefined) return envelope;
  let values: SecretValues;
  try {
    values = SecretValuesSchema.parse(JSON.parse(box.open(sealed, sealContext.secretValues(envelope.id))));
  } catch (err) {
    throw new SealedSecretValuesError(envelope.id, err);
  }
  const object = { ...envelope.object };
  if (values.data) object.data = values.data;
  if (values.stringData) object.stringData = values.stringData;
  const annotations = annotationsOf(object);
  if (values.lastApplied !== undefined && annotations) {
    object.metadata = {
      ...record(object.metadata),
      annotations: { ...annotations, [LAST_APPLIED_ANNOTATION]: values.lastApplied },
    };
  }
  return { ...rest, object };
}
