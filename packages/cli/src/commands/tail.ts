import type { Command } from "commander";
import { stringify } from "yaml";
import { integer } from "../args.js";
import { type Ctx, type Io, contextOf } from "../context.js";
import { CliError, EXIT_FAILURE } from "../errors.js";
import { type FilterOptions, addFilterOptions } from "../filter-options.js";
import { readSse } from "../sse.js";
import { tailLine } from "../tail-line.js";
import { clean } from "../text.js";
import { EnvelopeSchema } from "../views.js";

interface TailOptions extends FilterOptions {
  count?: number;
}

/** The stream's query: a server's filters, lists comma separated. */
function tailQuery(o: TailOptions): Record<string, string | undefined> {
  return {
    cluster: o.cluster?.join(","),
    resource: o.resource?.join(","),
    namespace: o.namespace?.join(","),
    excludeNamespaces: o.excludeNamespace?.join(","),
    names: o.namePattern?.join(","),
    eventType: o.eventType?.join(","),
    labelSelector: o.labelSelector,
  };
}

export function addTailCommand(program: Command, io: Io): void {
  addFilterOptions(
    program.command("tail").description("follow events live as the watchers publish them (Ctrl-C stops, exit 0)"),
  )
    .option("--count <n>", "stop after this many events", integer(1, 1_000_000))
    .action(async (options: TailOptions, command: Command) => {
      await tail(contextOf(command, io), options);
    });
}

async function tail(ctx: Ctx, options: TailOptions): Promise<void> {
  const stop = new AbortController();
  let interrupted = false;
  void ctx.io.interrupted().then(() => {
    interrupted = true;
    stop.abort();
  });
  const res = await ctx.api.stream("/events/stream", tailQuery(options), stop.signal);
  if (!res.body) throw new CliError("the API answered the event stream without a body", EXIT_FAILURE);
  // On stderr: a pipe reading stdout gets events only.
  ctx.io.err(`following events from ${ctx.api.shownUrl} (Ctrl-C to stop)\n`);
  let seen = 0;
  try {
    for await (const event of readSse(res.body)) {
      if (!emit(ctx, event.event, event.data)) continue;
      seen += 1;
      if (options.count !== undefined && seen >= options.count) {
        stop.abort();
        return;
      }
    }
  } catch (err) {
    if (interrupted || stop.signal.aborted) return;
    throw new CliError(`the event stream broke off: ${(err as Error).message}`, EXIT_FAILURE);
  }
  if (!interrupted) throw new CliError("the API closed the event stream", EXIT_FAILURE);
}

/** Prints one stream event; true when it was an event of a cluster (not a notice). */
function emit(ctx: Ctx, name: string, data: string): boolean {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    json = undefined;
  }
  const envelope = EnvelopeSchema.safeParse(json);
  if (!envelope.success) {
    // Notices of the stream itself (events dropped for a slow reader, ...): for the person, not the pipe.
    ctx.io.err(`notice: ${clean(name)}: ${clean(data).slice(0, 500)}\n`);
    return false;
  }
  if (ctx.format === "json") ctx.io.out(`${JSON.stringify(json)}\n`);
  else if (ctx.format === "yaml") ctx.io.out(`---\n${stringify(json)}`);
  else ctx.io.out(tailLine(envelope.data));
  return true;
}
