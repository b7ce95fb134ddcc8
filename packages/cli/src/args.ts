import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "commander";
import { UsageError } from "./errors.js";

/** A list option given as `--x a,b`, `--x a --x b` or both; empty items are dropped. */
export function collect(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return [...(previous ?? []), ...items];
}

/** `--header Name=value`, repeatable. */
export function collectHeader(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError("expected Name=value");
  const headers = Object.assign(Object.create(null) as Record<string, string>, previous);
  headers[value.slice(0, at).trim()] = value.slice(at + 1);
  return headers;
}

/** A whole number in [min, max], for options such as --limit and --grace. */
export function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

/** A choice among fixed words, case-insensitive, returned as written in `choices`. */
export function oneOf<T extends string>(choices: readonly T[]): (value: string, previous?: T[]) => T[] {
  return (value, previous) => {
    const chosen = [...(previous ?? [])];
    for (const item of collect(value, undefined)) {
      const found = choices.find((c) => c.toLowerCase() === item.toLowerCase());
      if (!found) throw new InvalidArgumentError(`expected ${choices.join(", ")}`);
      chosen.push(found);
    }
    return chosen;
  };
}

/**
 * A file the user named (kubeconfig, token, CA). What cannot be read is a usage error naming the
 * option and the path; the content is never part of a message.
 */
export function readUserFile(option: string, path: string, maxBytes = 1024 * 1024): string {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new UsageError(`cannot read ${option} ${path}: ${code === "ENOENT" ? "no such file" : code}`);
  }
  if (data.length > maxBytes) throw new UsageError(`${option} ${path} is larger than ${maxBytes} bytes`);
  if (data.length === 0) throw new UsageError(`${option} ${path} is empty`);
  return data.toString("utf8");
}

/** JSON given on the command line (`--patch '{...}'`); must be an object. */
export function jsonObject(option: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${option} is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError(`${option} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}
