import type { Command } from "commander";
import { seg } from "../api-client.js";
import { collect, collectHeader, jsonObject, oneOf, readUserFile } from "../args.js";
import { type Io, contextOf } from "../context.js";
import { UsageError } from "../errors.js";
import { type FilterOptions, addFilterOptions } from "../filter-options.js";
import { serverDetail, serverTable } from "../server-view.js";
import { cell } from "../text.js";
import { ServerSchema } from "../views.js";
import { addListGetRm } from "./list-get-rm.js";

interface ServerOptions extends FilterOptions {
  url?: string;
  expression?: string;
  changedPath?: string[];
  header?: Record<string, string>;
  secretFile?: string;
  snapshot?: boolean;
  enable?: boolean;
  disable?: boolean;
  includeSecretData?: boolean;
  payload?: string[];
  patch?: string;
}

const PAYLOADS = ["full", "metadata"] as const;

function serverOptions(command: Command): Command {
  return addFilterOptions(command)
    .option("--expression <cel>", "only events for which this CEL expression over `event` and `object` is true")
    .option(
      "--changed-path <list>",
      "MODIFIED only when one of these sections changed (spec, metadata.labels)",
      collect,
    )
    .option("--header <name=value>", "an HTTP header sent with every delivery (repeatable)", collectHeader)
    .option("--secret-file <path>", 'file holding the signing secret ("whsec_..."; generated when absent)')
    .option("--include-secret-data", "deliver Secret values instead of REDACTED")
    .option("--payload <kind>", "full objects or metadata only: full, metadata", oneOf(PAYLOADS));
}

/** The registration fields the options give; absent options leave their field out. */
function serverBody(o: ServerOptions): Record<string, unknown> {
  const filters = Object.fromEntries(
    Object.entries({
      clusters: o.cluster,
      resources: o.resource,
      namespaces: o.namespace,
      excludeNamespaces: o.excludeNamespace,
      names: o.namePattern,
      eventTypes: o.eventType,
      labelSelector: o.labelSelector,
      expression: o.expression,
      changedPaths: o.changedPath,
    }).filter(([, v]) => v !== undefined),
  );
  if ((o.payload?.length ?? 0) > 1) throw new UsageError("--payload takes one value: full or metadata");
  if (o.enable && o.disable) throw new UsageError("give either --enable or --disable");
  return {
    ...(o.url !== undefined ? { url: o.url } : {}),
    ...(Object.keys(filters).length > 0 ? { filters } : {}),
    ...(o.header ? { headers: { ...o.header } } : {}),
    ...(o.secretFile !== undefined ? { secret: readUserFile("--secret-file", o.secretFile, 4096).trim() } : {}),
    ...(o.snapshot !== undefined ? { snapshot: o.snapshot } : {}),
    ...(o.enable ? { enabled: true } : {}),
    ...(o.disable ? { enabled: false } : {}),
    ...(o.includeSecretData !== undefined ? { includeSecretData: o.includeSecretData } : {}),
    ...(o.payload?.[0] ? { payload: o.payload[0] } : {}),
  };
}

/** The generated secret, shown once: the receiver needs it to verify signatures. */
function secretNote(secret: string | undefined): string {
  if (!secret) return "";
  return `secret: ${secret}\n(shown only now: give it to the receiver to verify the webhook signatures)\n`;
}

export function addServerCommands(program: Command, io: Io): void {
  const server = program.command("server").description("register, inspect, change, test and remove servers");

  serverOptions(
    server
      .command("add")
      .description("register a server that receives the matching events")
      .argument("<name>", "server name (DNS-1123 label)")
      .requiredOption("--url <url>", "http(s) URL the events are POSTed to"),
  )
    .option("--no-snapshot", "do not deliver the current state of matching objects at registration")
    .option("--disable", "register it disabled")
    .action(async (name: string, options: ServerOptions, command: Command) => {
      const ctx = contextOf(command, io);
      const body = { name, ...serverBody({ ...options, snapshot: options.snapshot === false ? false : undefined }) };
      const { value } = await ctx.api.request("POST", "/servers", ServerSchema, { body });
      ctx.print(value, () => `server "${cell(value.name)}" added\n${secretNote(value.secret)}`);
    });

  addListGetRm(server, io, {
    noun: "server",
    schema: ServerSchema,
    table: serverTable,
    detail: serverDetail,
    descriptions: {
      list: "list servers",
      get: "show a server, its filters and its delivery status",
      rm: "forget a server, its delivery log and its dead letters",
    },
  });

  serverOptions(
    server
      .command("patch")
      .description("change some fields of a server (JSON Merge Patch); the rest, the secret included, is kept")
      .argument("<name>", "server name")
      .option("--url <url>", "new URL"),
  )
    .option("--snapshot", "deliver the current state at registration (stored setting)")
    .option("--no-snapshot", "do not")
    .option("--enable", "enable it (also after it was disabled for failing)")
    .option("--disable", "stop delivering to it")
    .option("--patch <json>", 'a JSON Merge Patch applied after the options (e.g. \'{"filters":{"namespaces":null}}\')')
    .action(async (name: string, options: ServerOptions, command: Command) => {
      const ctx = contextOf(command, io);
      const body = {
        ...serverBody(options),
        ...(options.patch !== undefined ? jsonObject("--patch", options.patch) : {}),
      };
      if (Object.keys(body).length === 0) {
        throw new UsageError(
          "nothing to change",
          "give an option such as --namespace or --enable, or --patch '<json>'",
        );
      }
      const { value } = await ctx.api.request("PATCH", `/servers/${seg(name)}`, ServerSchema, {
        body,
        contentType: "application/merge-patch+json",
      });
      ctx.print(value, () => `server "${cell(value.name)}" patched\n`);
    });
}
