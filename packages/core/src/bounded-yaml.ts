import { isAlias, isCollection, isMap, isScalar, parseDocument } from "yaml";
import { McicError } from "./errors.js";

/** Input the bounded YAML reader refuses: too big, too deep, aliased, duplicated, or not YAML. */
export class YamlLimitError extends McicError {
  constructor(message: string) {
    super("yaml_refused", message, 400);
  }
}

export interface YamlLimits {
  /** UTF-8 bytes of the whole text. */
  maxBytes: number;
  /** Lines plus flow items (`[`, `{`, `,`): a bound on the nodes the parser will build. */
  maxStructure: number;
  /** Nesting of flow collections, and leading indentation (spaces, `- `, `? `) in columns. */
  maxDepth: number;
}

/**
 * Sized so that the largest text let through parses in a few tens of milliseconds on a busy
 * machine (the yaml package spends up to ~100 µs per line and ~1 µs per byte of a plain scalar, on
 * the event loop). That is still room for several clusters with embedded certificates (~7 KB
 * each); mcic needs one.
 */
export const DEFAULT_YAML_LIMITS: YamlLimits = { maxBytes: 64 * 1024, maxStructure: 300, maxDepth: 64 };

const NEWLINE = 10;
const SPACE = 32;
const DASH = 45;
const QUESTION = 63;
const OPEN_SQUARE = 91;
const CLOSE_SQUARE = 93;
const OPEN_CURLY = 123;
const CLOSE_CURLY = 125;
const COMMA = 44;

/**
 * One linear pass over the characters, before the parser sees them: the parser's own cost per node
 * is high enough that a large document must be refused without being parsed. Brackets inside
 * quoted strings are counted too; that only makes the bound stricter.
 */
function checkShape(text: string, limits: YamlLimits): void {
  let structure = 0;
  let flowDepth = 0;
  let atLineStart = true;
  let indent = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (atLineStart) {
      // Block nesting shows as leading spaces and compact "- " / "? " indicators.
      if (c === SPACE || ((c === DASH || c === QUESTION) && text.charCodeAt(i + 1) === SPACE)) {
        if (++indent > limits.maxDepth * 2) throw new YamlLimitError(`is nested deeper than ${limits.maxDepth} levels`);
        continue;
      }
      atLineStart = false;
    }
    if (c === NEWLINE) {
      atLineStart = true;
      indent = 0;
      structure++;
    } else if (c === OPEN_SQUARE || c === OPEN_CURLY) {
      structure++;
      if (++flowDepth > limits.maxDepth) throw new YamlLimitError(`is nested deeper than ${limits.maxDepth} levels`);
    } else if (c === CLOSE_SQUARE || c === CLOSE_CURLY) {
      if (flowDepth > 0) flowDepth--;
    } else if (c === COMMA) {
      structure++;
    } else {
      continue;
    }
    if (structure > limits.maxStructure) {
      throw new YamlLimitError(`has more than ${limits.maxStructure} lines and flow items`);
    }
  }
}

/** Duplicate keys in one pass over the tree: the yaml package's own check is quadratic per map. */
function checkTree(root: unknown): void {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isAlias(node)) throw new YamlLimitError("uses an alias (*name): aliases are not supported");
    if (!isCollection(node)) continue;
    const seen = isMap(node) ? new Set<string>() : undefined;
    for (const item of node.items) {
      if (seen) {
        const { key, value } = item as { key: unknown; value: unknown };
        if (isAlias(key)) throw new YamlLimitError("uses an alias (*name): aliases are not supported");
        if (!isScalar(key)) throw new YamlLimitError("has a key that is not a plain value");
        const name = String(key.value);
        if (seen.has(name)) throw new YamlLimitError(`has the key "${name.slice(0, 64)}" twice in one mapping`);
        seen.add(name);
        pending.push(value);
      } else {
        pending.push(item);
      }
    }
  }
}

/**
 * Parses one YAML document within limits, so that no text can hold the event loop for long:
 * size, line and flow-item counts and nesting are checked before parsing; aliases and duplicate
 * keys are refused after. Throws YamlLimitError with a message to follow the document's name.
 */
export function parseBoundedYaml(text: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): unknown {
  if (Buffer.byteLength(text, "utf8") > limits.maxBytes) {
    throw new YamlLimitError(`is larger than ${Math.floor(limits.maxBytes / 1024)} KiB`);
  }
  checkShape(text, limits);
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
  } catch (err) {
    throw new YamlLimitError(`is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const error = doc.errors[0];
  if (error) throw new YamlLimitError(`is not valid YAML: ${error.message.split("\n")[0]}`);
  checkTree(doc.contents);
  return doc.toJS({ maxAliasCount: 0 });
}
