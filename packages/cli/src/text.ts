// How values look in tables and tail lines. Everything printed to a terminal passes `clean`: names,
// hosts and messages come from clusters and receivers, and a control character in them must not
// reach the terminal as an escape sequence.

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters removed
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The text with control and bidi-override characters shown as `?`. */
export function clean(text: string): string {
  return text.replace(CONTROL, "?");
}

/** A cell: absent values as `-`, as kubectl does. */
export function cell(value: string | number | boolean | undefined | null): string {
  if (value === undefined || value === null || value === "") return "-";
  return clean(String(value));
}

/** A list as `a,b`; `whenEmpty` when absent or empty (e.g. `*` for "all"). */
export function list(values: readonly string[] | undefined, whenEmpty = "*"): string {
  return values && values.length > 0 ? clean(values.join(",")) : whenEmpty;
}

/** kubectl's short ages: 45s, 12m, 3h, 2d. `-` when unknown. */
export function age(iso: string | undefined, now: Date): string {
  if (!iso) return "-";
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return "-";
  const s = Math.max(0, Math.floor((now.getTime() - then) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** An ISO time to the second, in UTC: `2026-12-02T12:00:01Z`. */
export function shortTime(iso: string | undefined): string {
  if (!iso) return "-";
  const t = Date.parse(iso);
  return Number.isNaN(t) ? clean(iso) : `${new Date(t).toISOString().slice(0, 19)}Z`;
}

/** A rate with at most two decimals; `-` when unknown. */
export function rate(value: number | undefined | null): string {
  return value === undefined || value === null ? "-" : String(Math.round(value * 100) / 100);
}

/** A ratio as a percentage: 0.987 → `98.7%`. */
export function percent(value: number | undefined | null): string {
  return value === undefined || value === null ? "-" : `${Math.round(value * 1000) / 10}%`;
}

/**
 * Rows as kubectl prints them: upper-case headers, columns left-aligned and separated by three
 * spaces, no borders, the last column not padded.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}
