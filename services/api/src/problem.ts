import { type FieldError, McicError, ValidationError, type Logger } from "@mcic/core";
import type { Context, Next } from "koa";

/** RFC 9457 body. `type` is a stable URN per error code so clients can switch on it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function sendProblem(ctx: Context, status: number, code: string, detail: string, errors?: FieldError[]): void {
  const body: Problem = { type: `urn:mcic:problem:${code}`, title: TITLES[status] ?? "Error", status, detail };
  if (errors) body.errors = errors;
  ctx.status = status;
  ctx.type = "application/problem+json";
  ctx.body = body;
}

/** Turns every thrown error into problem+json; unexpected ones are logged and hidden. */
export function problemMiddleware(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        sendProblem(ctx, 404, "route_not_found", `no route for ${ctx.method} ${ctx.path}`);
      }
      if (ctx.status === 405 && typeof ctx.body === "string") {
        sendProblem(ctx, 405, "method_not_allowed", `${ctx.method} is not allowed on ${ctx.path}`);
      }
    } catch (err) {
      if (err instanceof ValidationError) {
        sendProblem(ctx, err.status, err.code, err.message, err.errors);
      } else if (err instanceof McicError && err.status < 500) {
        sendProblem(ctx, err.status, err.code, err.message);
      } else {
        logger.error({ err, method: ctx.method, path: ctx.path }, "request failed");
        sendProblem(ctx, 500, "internal", "internal error; see the API log");
      }
    }
  };
}
