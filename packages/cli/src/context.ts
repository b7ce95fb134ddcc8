import type { Command } from "commander";
import { stringify } from "yaml";
import { ApiClient } from "./api-client.js";
import { UsageError } from "./errors.js";

export const FORMATS = ["table", "json", "yaml"] as const;
export type Format = (typeof FORMATS)[number];

export const DEFAULT_API = "http://127.0.0.1:8000";

/** Where a command writes and what it reads from its surroundings; tests give their own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  now(): Date;
  /**
   * Resolves at Ctrl-C (SIGINT) or SIGTERM. Only commands that run until stopped (tail) ask: the
   * others keep the default, being killed by the signal.
   */
  interrupted(): Promise<void>;
}

/** What every command gets: the API client for the global options, the output format, the Io. */
export interface Ctx {
  api: ApiClient;
  format: Format;
  io: Io;
  /** Prints an API object as `-o` asks: the table text for `table`, the object itself otherwise. */
  print(value: unknown, table: () => string): void;
}

interface GlobalOptions {
  api?: string;
  token?: string;
  output?: string;
}

export function contextOf(command: Command, io: Io): Ctx {
  const opts = command.optsWithGlobals<GlobalOptions>();
  const format = (opts.output ?? "table") as Format;
  if (!FORMATS.includes(format)) {
    throw new UsageError(`-o ${JSON.stringify(opts.output)} is not an output format`, "use -o table, json or yaml");
  }
  const api = new ApiClient({
    api: opts.api ?? io.env.MCIC_API ?? DEFAULT_API,
    apiFrom: opts.api === undefined && io.env.MCIC_API !== undefined ? "MCIC_API" : "--api",
    token: opts.token ?? io.env.MCIC_TOKEN,
  });
  return {
    api,
    format,
    io,
    print: (value, table) => io.out(render(format, value, table)),
  };
}

export function render(format: Format, value: unknown, table: () => string): string {
  if (format === "json") return `${JSON.stringify(value, null, 2)}\n`;
  if (format === "yaml") return stringify(value);
  return table();
}
