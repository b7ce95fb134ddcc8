import { ValidationError } from "@mcic/core";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Media types a PATCH body may have: RFC 7396's own, and plain JSON for clients that only send that. */
export const MERGE_PATCH_TYPES = ["application/merge-patch+json", "application/json"] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * JSON Merge Patch (RFC 7396): objects merge key by key, `null` removes a key, anything else
 * (arrays included) replaces. The target is not modified.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    // Defined, not assigned: a "__proto__" key (JSON.parse makes it an own property) stays data,
    // for validation to refuse as it refuses it in a PUT body.
    else
      Object.defineProperty(out, key, {
        value: applyMergePatch(Object.hasOwn(out, key) ? out[key] : undefined, value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return out;
}

/**
 * The body of a PATCH: it must be an object (RFC 7396 allows any JSON, but a patch that is not an
 * object would replace the whole registration, which is PUT's job).
 */
export function requirePatchObject(patch: unknown): Record<string, unknown> {
  if (!isObject(patch)) {
    throw new ValidationError("a merge patch must be a JSON object", [
      { path: "(body)", message: "must be a JSON object (RFC 7396 merge patch)" },
    ]);
  }
  return patch;
}

export type { Json };
