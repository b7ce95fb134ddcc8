import { type Command, Option } from "commander";
import { seg } from "../api-client.js";
import { collect, jsonObject, readUserFile } from "../args.js";
import { clusterDetail, clusterTable } from "../cluster-view.js";
import { type Io, contextOf } from "../context.js";
import { UsageError } from "../errors.js";
import { cell } from "../text.js";
import { ClusterSchema } from "../views.js";
import { addListGetRm } from "./list-get-rm.js";

interface ConnectionOptions {
  kubeconfig?: string;
  context?: string;
  server?: string;
  tokenFile?: string;
  caFile?: string;
  insecureSkipTlsVerify?: boolean;
}

interface ScopeOptions {
  resources?: string[];
  namespaces?: string[];
  allNamespaces?: boolean;
  labelSelector?: string;
  patch?: string;
}

const MERGE_PATCH = "application/merge-patch+json";

function connectionOptions(command: Command): Command {
  return command
    .option("--kubeconfig <path>", "kubeconfig file to send (token, client certificate and CA embedded)")
    .option("--context <name>", "context of the kubeconfig (default: its current context)")
    .option("--server <url>", "API server URL of the cluster (instead of --kubeconfig)")
    .option("--token-file <path>", "file holding the bearer token (with --server)")
    .option("--ca-file <path>", "PEM file of the CA certificates (with --server)")
    .option("--insecure-skip-tls-verify", "do not verify the API server's certificate (with --server)");
}

function scopeOptions(command: Command): Command {
  return command
    .option("--resources <list>", "resources to watch, comma separated or repeated (e.g. ingresses,services)", collect)
    .option("--namespaces <list>", "namespaces to watch (default all)", collect)
    .option("--label-selector <selector>", "watch only objects with these labels");
}

/**
 * The connection fields of a registration, files read here: exactly one of --kubeconfig or
 * --server when `required`, and no option of the other form.
 */
export function connectionBody(o: ConnectionOptions, required: boolean): Record<string, unknown> {
  const serverOnly = [
    ["--token-file", o.tokenFile],
    ["--ca-file", o.caFile],
    ["--insecure-skip-tls-verify", o.insecureSkipTlsVerify],
  ] as const;
  if (o.kubeconfig !== undefined && o.server !== undefined) {
    throw new UsageError("give either --kubeconfig or --server, not both");
  }
  if (required && o.kubeconfig === undefined && o.server === undefined) {
    throw new UsageError(
      "--kubeconfig or --server is required",
      "e.g. mcic cluster add prod --kubeconfig ~/.kube/config",
    );
  }
  if (o.context !== undefined && o.kubeconfig === undefined) throw new UsageError("--context needs --kubeconfig");
  if (o.kubeconfig !== undefined) {
    const misplaced = serverOnly.find(([, v]) => v !== undefined);
    if (misplaced)
      throw new UsageError(`${misplaced[0]} goes with --server; with --kubeconfig put it in the kubeconfig`);
    return {
      kubeconfig: readUserFile("--kubeconfig", o.kubeconfig),
      ...(o.context !== undefined ? { context: o.context } : {}),
    };
  }
  if (o.server === undefined) {
    const orphan = serverOnly.find(([, v]) => v !== undefined);
    if (orphan) throw new UsageError(`${orphan[0]} needs --server`);
    return {};
  }
  return {
    server: o.server,
    ...(o.tokenFile !== undefined ? { token: readUserFile("--token-file", o.tokenFile).trim() } : {}),
    ...(o.caFile !== undefined ? { caData: Buffer.from(readUserFile("--ca-file", o.caFile)).toString("base64") } : {}),
    ...(o.insecureSkipTlsVerify ? { insecureSkipTLSVerify: true } : {}),
  };
}

function scopeBody(o: ScopeOptions): Record<string, unknown> {
  if (o.allNamespaces && o.namespaces) throw new UsageError("give either --namespaces or --all-namespaces");
  return {
    ...(o.resources ? { resources: o.resources } : {}),
    ...(o.namespaces ? { namespaces: o.namespaces } : {}),
    ...(o.allNamespaces ? { namespaces: null } : {}),
    ...(o.labelSelector !== undefined ? { labelSelector: o.labelSelector } : {}),
  };
}

export function addClusterCommands(program: Command, io: Io): void {
  const cluster = program.command("cluster").description("register, list, inspect, change and remove clusters");

  scopeOptions(
    connectionOptions(
      cluster
        .command("add")
        .description("register a cluster to watch (its credentials are sent, never printed)")
        .argument("<name>", "cluster name (DNS-1123 label)"),
    ),
  ).action(async (name: string, options: ConnectionOptions & ScopeOptions, command: Command) => {
    const ctx = contextOf(command, io);
    const body = { name, ...connectionBody(options, true), ...scopeBody(options) };
    const { value } = await ctx.api.request("POST", "/clusters", ClusterSchema, { body });
    ctx.print(value, () => `cluster "${cell(value.name)}" added\n`);
  });

  addListGetRm(cluster, io, {
    noun: "cluster",
    schema: ClusterSchema,
    table: clusterTable,
    detail: clusterDetail,
    descriptions: {
      list: "list clusters with their watch state",
      get: "show a cluster and the watch state of each of its resources",
      rm: "stop watching a cluster and forget it",
    },
  });

  scopeOptions(
    connectionOptions(
      cluster
        .command("patch")
        .description("change some fields of a cluster (JSON Merge Patch); the rest is kept")
        .argument("<name>", "cluster name"),
    ),
  )
    .addOption(new Option("--all-namespaces", "watch every namespace again"))
    .option("--patch <json>", "a JSON Merge Patch applied after the options (e.g. '{\"labelSelector\":null}')")
    .action(async (name: string, options: ConnectionOptions & ScopeOptions, command: Command) => {
      const ctx = contextOf(command, io);
      const body = {
        ...connectionBody(options, false),
        ...scopeBody(options),
        ...(options.patch !== undefined ? jsonObject("--patch", options.patch) : {}),
      };
      if (Object.keys(body).length === 0) {
        throw new UsageError("nothing to change", "give an option such as --resources, or --patch '<json>'");
      }
      const { value } = await ctx.api.request("PATCH", `/clusters/${seg(name)}`, ClusterSchema, {
        body,
        contentType: MERGE_PATCH,
      });
      ctx.print(value, () => `cluster "${cell(value.name)}" patched\n`);
    });
}
