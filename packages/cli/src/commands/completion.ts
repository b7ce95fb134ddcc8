import type { Command } from "commander";
import { bashCompletion, zshCompletion } from "../completion.js";
import type { Io } from "../context.js";
import { UsageError } from "../errors.js";

export function addCompletionCommand(program: Command, io: Io): void {
  program
    .command("completion")
    .description('print a shell completion script: eval "$(mcic completion bash)"')
    .argument("<shell>", "bash or zsh")
    .action((shell: string) => {
      if (shell === "bash") io.out(bashCompletion(program));
      else if (shell === "zsh") io.out(zshCompletion(program));
      else throw new UsageError(`no completion for ${JSON.stringify(shell)}`, "use: mcic completion bash|zsh");
    });
}
