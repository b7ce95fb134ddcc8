import type { Command, Option } from "commander";

interface Node {
  /** Words after `mcic` that lead here, space separated ("" for the root). */
  path: string;
  words: string[];
}

function optionWords(options: readonly Option[]): string[] {
  return options.flatMap((o) => [o.short, o.long].filter((w): w is string => Boolean(w)));
}

/** Every command path with what may follow it: subcommands (and aliases) and options. */
function nodes(command: Command, path: string, inherited: string[]): Node[] {
  const own = optionWords(command.options);
  const options = [...inherited, ...own];
  const subs = command.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
  const here: Node = { path, words: [...subs.flatMap((c) => [c.name(), ...c.aliases()]), ...options, "--help"] };
  // Options of the root are global: offered at every level, as commander accepts them anywhere.
  const passDown = path === "" ? own : inherited;
  return [
    here,
    ...subs.flatMap((c) =>
      [c.name(), ...c.aliases()].flatMap((name) => nodes(c, path ? `${path} ${name}` : name, passDown)),
    ),
  ];
}

/** Options whose value is a word the CLI knows; other value options complete file names. */
const VALUES: Record<string, string[]> = {
  "-o": ["table", "json", "yaml"],
  "--output": ["table", "json", "yaml"],
  "--event-type": ["ADDED", "MODIFIED", "DELETED"],
  "--payload": ["full", "metadata"],
  "--outcome": ["delivered", "retrying", "dead-lettered", "disabled", "superseded", "dropped"],
};

function valueOptions(command: Command): string[] {
  return [
    ...optionWords(command.options.filter((o) => o.required || o.optional)),
    ...command.commands.flatMap(valueOptions),
  ];
}

/** A bash completion function generated from the command tree, so it never falls behind it. */
export function bashCompletion(program: Command): string {
  const all = nodes(program, "", []);
  // Command and option names are plain words; anything else is dropped rather than quoted for bash.
  const q = (w: string) => w.replace(/[^A-Za-z0-9_.,=:/ -]/g, "");
  const known = all.filter((n) => n.path !== "").map((n) => `"${q(n.path)}"`);
  const takesValue = [...new Set(valueOptions(program))].map(q);
  return `# mcic bash completion: eval "$(mcic completion bash)" or save it to /etc/bash_completion.d/mcic
_mcic() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "\${path:+$path }$w" in
      ${known.join("|")}) path="\${path:+$path }$w" ;;
    esac
  done
  case "$prev" in
${Object.entries(VALUES)
  .map(([o, v]) => `    ${q(o)}) COMPREPLY=($(compgen -W "${v.join(" ")}" -- "$cur")); return ;;`)
  .join("\n")}
    ${takesValue.join("|")}) COMPREPLY=(); return ;;
  esac
  case "$path" in
${all.map((n) => `    "${q(n.path)}") COMPREPLY=($(compgen -W "${n.words.map(q).join(" ")}" -- "$cur")) ;;`).join("\n")}
  esac
}
complete -o default -F _mcic mcic
`;
}

/** zsh runs the bash function through bashcompinit: one generator, the same answers in both shells. */
export function zshCompletion(program: Command): string {
  return `#compdef mcic
# mcic zsh completion: eval "$(mcic completion zsh)" in ~/.zshrc
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program).split("\n").slice(1).join("\n")}`;
}
