import type { Command } from "commander";
import type { z } from "zod";
import { seg } from "../api-client.js";
import { type Io, contextOf } from "../context.js";
import { cell } from "../text.js";
import { AnySchema } from "../views.js";

/** What differs between `cluster list|get|rm` and `server list|get|rm`. */
export interface ListGetRm<S extends z.ZodType> {
  noun: "cluster" | "server";
  schema: S;
  table(items: z.infer<S>[], now: Date): string;
  detail(item: z.infer<S>, now: Date): string;
  descriptions: { list: string; get: string; rm: string };
}

export function addListGetRm<S extends z.ZodType>(parent: Command, io: Io, spec: ListGetRm<S>): void {
  const path = `/${spec.noun}s`;

  parent
    .command("list")
    .alias("ls")
    .description(spec.descriptions.list)
    .action(async (_options: unknown, command: Command) => {
      const ctx = contextOf(command, io);
      const items = await ctx.api.get(path, spec.schema.array());
      ctx.print(items, () => (items.length === 0 ? `no ${spec.noun}s registered\n` : spec.table(items, io.now())));
    });

  parent
    .command("get")
    .description(spec.descriptions.get)
    .argument("<name>", `${spec.noun} name`)
    .action(async (name: string, _options: unknown, command: Command) => {
      const ctx = contextOf(command, io);
      const item = await ctx.api.get(`${path}/${seg(name)}`, spec.schema);
      ctx.print(item, () => spec.detail(item, io.now()));
    });

  parent
    .command("rm")
    .alias("delete")
    .description(spec.descriptions.rm)
    .argument("<name>", `${spec.noun} name`)
    .action(async (name: string, _options: unknown, command: Command) => {
      const ctx = contextOf(command, io);
      await ctx.api.request("DELETE", `${path}/${seg(name)}`, AnySchema);
      ctx.print({ name, deleted: true }, () => `${spec.noun} "${cell(name)}" deleted\n`);
    });
}
