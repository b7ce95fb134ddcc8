import { type FieldError, isRedisUnavailable, McicError, ValidationError, type Logger } from "@mcic/core";
import type { Context, Next } from "koa";
import type { Problem } from "./schemas.js";

export type { Problem } from "./schemas.js";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  421: "Misdirected Request",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

/** Codes for statuses set by Koa or the router rather than thrown by us. */
const STATUS_CODES: Record<number, string> = {
  404: "route_not_found",
  405: "method_not_allowed",
  501: "not_implemented",
};

export const PROBLEM_TYPE = "application/problem+json";

export function sendProblem(ctx: Context, status: number, code: string, detail: string, errors?: FieldError[]): void {
  const body: Problem = { type: `urn:mcic:problem:${code}`, title: TITLES[status] ?? "Error", status, detail };
  if (errors) body.errors = errors;
  ctx.status = status;
  ctx.type = PROBLEM_TYPE;
  ctx.body = body;
}

/** McicErrors a client may see the message of: bad input, and "try again later" (503). */
const shown = (err: McicError) => err.status < 500 || err.status === 503;

/**
 * Turns every error into problem+json: thrown ones, and the bare statuses Koa and the router set
 * (404 for unknown routes, 405 for a wrong method, 501). Unexpected errors are logged and hidden.
 */
export function problemMiddleware(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status >= 400 && (ctx.body === undefined || ctx.body === null || typeof ctx.body === "string")) {
        const detail =
          ctx.status === 404
            ? `no route for ${ctx.method} ${ctx.path}`
            : ctx.status === 405 || ctx.status === 501
              ? `${ctx.method} is not allowed on ${ctx.path}; allowed: ${ctx.response.get("Allow") || "none"}`
              : (TITLES[ctx.status] ?? "error");
        sendProblem(ctx, ctx.status, STATUS_CODES[ctx.status] ?? "error", detail);
      }
    } catch (err) {
      if (err instanceof ValidationError) {
        sendProblem(ctx, err.status, err.code, err.message, err.errors);
      } else if (isRedisUnavailable(err)) {
        // A Redis failover lasts seconds: tell clients to come back rather than report a bug.
        logger.warn({ err: (err as Error).message, method: ctx.method, path: ctx.path }, "redis unavailable");
        ctx.set("Retry-After", "1");
        sendProblem(ctx, 503, "redis_unavailable", "Redis is unavailable (failing over?); try again shortly");
      } else if (err instanceof McicError && shown(err)) {
        if (err.status >= 500) logger.warn({ err: err.message, method: ctx.method, path: ctx.path }, err.code);
        sendProblem(ctx, err.status, err.code, err.message);
      } else {
        logger.error({ err, method: ctx.method, path: ctx.path }, "request failed");
        sendProblem(ctx, 500, "internal", "internal error; see the API log");
      }
    }
  };
}
