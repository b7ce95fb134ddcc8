import type { Router } from "@koa/router";
import { sendProblem } from "../problem.js";

export interface HealthDeps {
  /** Resolves when Redis and NATS answer; rejects with the reason otherwise. */
  checkReady: () => Promise<void>;
}

export function mountHealthRoutes(router: Router, deps: HealthDeps): void {
  router.get("/healthz", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/readyz", async (ctx) => {
    try {
      await deps.checkReady();
      ctx.body = { status: "ready" };
    } catch (err) {
      sendProblem(ctx, 503, "not_ready", (err as Error).message);
    }
  });
}
