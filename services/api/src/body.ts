import { McicError, ValidationError, fieldErrors } from "@mcic/core";
import type { Context } from "koa";
import type { z } from "zod";

export const MAX_BODY_BYTES = 1024 * 1024;

class BodyError extends McicError {}

const JSON_TYPES = ["application/json"] as const;

/** True when the request carries a body (a length above 0, or chunked encoding). */
export function hasBody(ctx: Context): boolean {
  return Boolean(ctx.get("transfer-encoding")) || Number(ctx.get("content-length") || 0) > 0;
}

/**
 * Reads the request body as JSON: 415 for media types other than `types`, 413 past 1 MiB, 400 if
 * malformed.
 */
export async function readJson(ctx: Context, types: readonly string[] = JSON_TYPES): Promise<unknown> {
  if (!hasBody(ctx)) {
    throw new ValidationError("a JSON body is required", [{ path: "(body)", message: "required" }]);
  }
  if (!ctx.is(...types)) {
    throw new BodyError("unsupported_media_type", `send the body as ${types.join(" or ")}`, 415);
  }
  const declared = Number(ctx.get("content-length") || 0);
  if (declared > MAX_BODY_BYTES) throw new BodyError("body_too_large", "request body is over 1 MiB", 413);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyError("body_too_large", "request body is over 1 MiB", 413);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8 quotes the start of the text in its message; the body may hold credentials, so drop it.
    const message = (err as Error).message.replace(
      /, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s,
      " is not valid JSON",
    );
    throw new ValidationError("request body is not valid JSON", [{ path: "(body)", message }]);
  }
}

/** Validates a value as a body (a patched registration, say): ValidationError naming every field. */
export function validate<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ValidationError("request body is invalid", fieldErrors(result.error));
  return result.data;
}

/** Reads and validates a body; the ValidationError names every offending field. */
export async function readBody<S extends z.ZodType>(
  ctx: Context,
  schema: S,
  types: readonly string[] = JSON_TYPES,
): Promise<z.output<S>> {
  return validate(schema, await readJson(ctx, types));
}

/** Like readBody, but a request without a body is validated as `{}`. */
export async function readOptionalBody<S extends z.ZodType>(ctx: Context, schema: S): Promise<z.output<S>> {
  return validate(schema, hasBody(ctx) ? await readJson(ctx) : {});
}
