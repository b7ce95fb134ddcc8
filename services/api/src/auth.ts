import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import { sendProblem } from "./problem.js";

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * Bearer-token check. Tokens are compared as SHA-256 digests with timingSafeEqual, so neither the
 * token's content nor its length leaks through timing. `isOpen` says which requests need none
 * (health checks, the OpenAPI document and Swagger UI).
 */
export function bearerAuth(tokens: string[], isOpen: (ctx: Context) => boolean) {
  const digests = tokens.map(digest);
  return async (ctx: Context, next: Next) => {
    if (digests.length === 0 || isOpen(ctx)) return next();
    const match = /^Bearer\s+(\S+)$/i.exec(ctx.get("authorization"));
    const given = match ? digest(match[1] as string) : undefined;
    let ok = false;
    for (const d of digests) if (given && timingSafeEqual(d, given)) ok = true;
    if (!ok) {
      ctx.set("WWW-Authenticate", 'Bearer realm="mcic"');
      sendProblem(ctx, 401, "unauthorized", "a valid Authorization: Bearer <token> header is required");
      return;
    }
    return next();
  };
}
