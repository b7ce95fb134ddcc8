import { NotFoundError, type Registry, type SecretBox, ServerInputSchema, ValidationError } from "@mcic/core";
import type { Router } from "@koa/router";
import { readBody } from "../body.js";
import { toServerView, toStoredServer } from "../server-records.js";
import { pathName } from "./clusters.js";

export interface ServerRouteDeps {
  registry: Registry;
  box: SecretBox;
  now: () => Date;
}

export function mountServerRoutes(router: Router, deps: ServerRouteDeps): void {
  const { registry, box, now } = deps;

  router.get("/api/v1/servers", async (ctx) => {
    ctx.body = (await registry.listServers()).map((s) => toServerView(s, box));
  });

  router.post("/api/v1/servers", async (ctx) => {
    const input = await readBody(ctx, ServerInputSchema);
    const { stored, secret } = toStoredServer(input, box, now());
    await registry.createServer(stored);
    ctx.status = 201;
    ctx.set("Location", `/api/v1/servers/${stored.name}`);
    ctx.body = { ...toServerView(stored, box), ...(secret ? { secret } : {}) };
  });

  router.get("/api/v1/servers/:name", async (ctx) => {
    const name = pathName(ctx.params.name, "server");
    const stored = await registry.getServer(name);
    if (!stored) throw new NotFoundError("server", name);
    const status = await registry.redis.hgetall(registry.keys.serverStatus(name));
    ctx.body = toServerView(stored, box, status);
  });

  router.put("/api/v1/servers/:name", async (ctx) => {
    const name = pathName(ctx.params.name, "server");
    const input = await readBody(ctx, ServerInputSchema);
    if (input.name !== name) {
      throw new ValidationError("name in body differs from the path", [{ path: "name", message: `must be "${name}"` }]);
    }
    const previous = await registry.getServer(name);
    if (!previous) throw new NotFoundError("server", name);
    const { stored } = toStoredServer(input, box, now(), previous);
    await registry.replaceServer(stored);
    ctx.body = toServerView(stored, box);
  });

  router.delete("/api/v1/servers/:name", async (ctx) => {
    await registry.deleteServer(pathName(ctx.params.name, "server"));
    ctx.status = 204;
  });
}
