/** One requirement of a Kubernetes label selector. */
export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

export type LabelSelector = Requirement[];

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

function checkKey(key: string): string {
  if (!KEY.test(key) || key.length > 316) throw new Error(`"${key}" is not a valid label key`);
  return key;
}
function checkValue(value: string): string {
  if (!VALUE.test(value) || value.length > 63) throw new Error(`"${value}" is not a valid label value`);
  return value;
}

/** Parses the selector syntax of `kubectl -l` (equality- and set-based); throws with a reason. */
export function parseLabelSelector(text: string): LabelSelector {
  if (text.trim() === "") return [];
  return splitTopLevel(text).map((part): Requirement => {
    if (part === "") throw new Error("empty requirement in label selector");
    const set = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(part);
    if (set) {
      const values = (set[3] ?? "").split(",").map((v) => checkValue(v.trim()));
      return { key: checkKey(set[1] ?? ""), op: set[2] as "in" | "notin", values };
    }
    const eq = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (eq) {
      const op = eq[2] === "!=" ? "!=" : "=";
      return { key: checkKey(eq[1] ?? ""), op, value: checkValue(eq[3] ?? "") };
    }
    if (part.startsWith("!")) return { key: checkKey(part.slice(1).trim()), op: "!exists" };
    return { key: checkKey(part), op: "exists" };
  });
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r): boolean => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case "=":
        return v === r.value;
      case "!=":
        return v !== r.value;
      case "in":
        return has && r.values.includes(v as string);
      case "notin":
        return !has || !r.values.includes(v as string);
      case "exists":
        return has;
      default:
        return !has;
    }
  });
}
