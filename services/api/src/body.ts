import { McicError, ValidationError, fieldErrors } from "@mcic/core";
import type { Context } from "koa";
import type { z } from "zod";

export const MAX_BODY_BYTES = 1024 * 1024;

class BodyError extends McicError {}

/** Reads the request body as JSON: 415 for other media types, 413 past 1 MiB, 400 if malformed. */
export async function readJson(ctx: Context): Promise<unknown> {
  if (!ctx.is("application/json")) {
    throw new BodyError("unsupported_media_type", "send the body as application/json", 415);
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
    throw new ValidationError("request body is not valid JSON", [{ path: "(body)", message: (err as Error).message }]);
  }
}

/** Reads and validates a body; the ValidationError names every offending field. */
export async function readBody<S extends z.ZodType>(ctx: Context, schema: S): Promise<z.output<S>> {
  const raw = await readJson(ctx);
  const result = schema.safeParse(raw);
  if (!result.success) throw new ValidationError("request body is invalid", fieldErrors(result.error));
  return result.data;
}
