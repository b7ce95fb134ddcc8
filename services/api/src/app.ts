import type { Logger, Registry, SecretBox } from "@mcic/core";
import { Router } from "@koa/router";
import Koa from "koa";
import { bearerAuth } from "./auth.js";
import { problemMiddleware } from "./problem.js";
import { mountClusterRoutes } from "./routes/clusters.js";
import { mountHealthRoutes } from "./routes/health.js";
import { mountServerRoutes } from "./routes/servers.js";

export interface AppDeps {
  registry: Registry;
  box: SecretBox;
  logger: Logger;
  tokens: string[];
  checkReady: () => Promise<void>;
  now?: () => Date;
}

/** The whole HTTP API as a Koa app, with every dependency injected (tests run it over HTTP). */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  const router = new Router();
  const now = deps.now ?? (() => new Date());
  mountHealthRoutes(router, deps);
  mountClusterRoutes(router, { registry: deps.registry, box: deps.box, now });
  mountServerRoutes(router, { registry: deps.registry, box: deps.box, now });

  app.use(problemMiddleware(deps.logger));
  app.use(bearerAuth(deps.tokens));
  app.use(router.routes());
  app.use(router.allowedMethods());
  // Koa's default handler would print errors to stderr; ours are already logged by problemMiddleware.
  app.silent = true;
  return app;
}
