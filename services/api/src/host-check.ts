import type { Context, Next } from "koa";
import { isLoopbackHostHeader } from "./loopback.js";
import { sendProblem } from "./problem.js";

/**
 * For the open API (no API_TOKENS): answers 421 to a request whose Host is not a loopback name.
 * Binding to loopback keeps other hosts out, but not a browser on this machine running a page
 * whose DNS name was rebound to 127.0.0.1; its requests carry that name as Host. Every route is
 * checked, probes too: an open API is loopback-only, so no kubelet probe reaches it by pod IP.
 */
export function loopbackHostOnly() {
  return async (ctx: Context, next: Next) => {
    if (isLoopbackHostHeader(ctx.get("host"))) return next();
    sendProblem(
      ctx,
      421,
      "misdirected_request",
      "without API_TOKENS the API answers only to Host localhost, 127.0.0.1 or [::1]",
    );
  };
}
