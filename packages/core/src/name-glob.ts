/**
 * Matches object names against globs (`*` any run of characters, `?` one character), anchored at
 * both ends. Patterns without a wildcard are a set lookup. The others use the two-pointer
 * wildcard walk, not a RegExp: a pattern like `*a*a*a*b` would make a backtracking regex take
 * time exponential in its stars, the walk takes at most name × pattern steps.
 */
export function compileNameGlobs(patterns: string[] | undefined): ((name: string) => boolean) | undefined {
  if (!patterns || patterns.length === 0) return undefined;
  const exact = new Set(patterns.filter((p) => !/[*?]/.test(p)));
  const globs = patterns.filter((p) => /[*?]/.test(p)).map((p) => p.replace(/\*+/g, "*"));
  return (name) => exact.has(name) || globs.some((glob) => globMatches(glob, name));
}

export function globMatches(glob: string, name: string): boolean {
  let g = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    if (g < glob.length && (glob[g] === "?" || glob[g] === name[n])) {
      g++;
      n++;
    } else if (g < glob.length && glob[g] === "*") {
      star = g++;
      resume = n;
    } else if (star >= 0) {
      g = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (glob[g] === "*") g++;
  return g === glob.length;
}
