import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { addClusterCommands } from "./commands/clusters.js";
import { addCompletionCommand } from "./commands/completion.js";
import { addServerOpsCommands } from "./commands/server-ops.js";
import { addServerCommands } from "./commands/servers.js";
import { addStatusCommand } from "./commands/status.js";
import { addTailCommand } from "./commands/tail.js";
import { DEFAULT_API, FORMATS, type Io } from "./context.js";
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./errors.js";
import { clean } from "./text.js";

const HELP_AFTER = `
Environment:
  MCIC_API     the API URL when --api is not given (default ${DEFAULT_API})
  MCIC_TOKEN   the API bearer token when --token is not given (preferred: not in the process list)

Exit codes:
  0  done
  1  the API answered with an error or could not be reached, or the command failed
     (e.g. "server test" got no 2xx answer); the reason is on stderr
  2  the command line is wrong (unknown command or option, missing or conflicting
     options, unreadable file); a hint is on stderr
`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** The whole command tree; every command writes through `io`. */
export function buildProgram(io: Io): Command {
  const program = new Command("mcic")
    .description("mcic: watch Kubernetes clusters and deliver their events to servers (over the mcic REST API)")
    .version(version(), "-V, --version")
    .option("--api <url>", `mcic API URL (env MCIC_API; default ${DEFAULT_API})`)
    .option("--token <token>", "API bearer token (env MCIC_TOKEN)")
    .addOption(new Option("-o, --output <format>", "output format").choices(FORMATS).default("table"))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError("(add --help for usage)")
    .configureHelp({ showGlobalOptions: true })
    .addHelpText("after", HELP_AFTER);
  addClusterCommands(program, io);
  addServerCommands(program, io);
  addServerOpsCommands(program, io);
  addTailCommand(program, io);
  addStatusCommand(program, io);
  addCompletionCommand(program, io);
  return program;
}

/** Runs one command line (without `node mcic`) and answers the exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander printed its message (and the help hint) already.
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof CliError) {
      io.err(`error: ${clean(err.message)}\n${err.details.map((d) => `${clean(d)}\n`).join("")}`);
      return err.exitCode;
    }
    io.err(`error: ${clean((err as Error).message ?? String(err))}\n`);
    return EXIT_FAILURE;
  }
}
