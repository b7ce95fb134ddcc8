import type { ChainableCommander } from "ioredis";
import type { z } from "zod";
import { CorruptDataError, RedisWriteError } from "./errors.js";

/** Entries of a list dispatchers append to; one unreadable entry is skipped and counted, not fatal. */
export interface ListedEntries<T> {
  /** Each readable entry with its exact stored text (what removing it by value needs). */
  entries: { text: string; value: T }[];
  unreadable: number;
}

export function decode<T>(schema: z.ZodType<T>, key: string, text: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CorruptDataError(key, "not JSON");
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new CorruptDataError(key, result.error.issues[0]?.message ?? "schema mismatch");
  return result.data;
}

export function parseEntries<T>(texts: string[], schema: z.ZodType<T>): ListedEntries<T> {
  const out: ListedEntries<T> = { entries: [], unreadable: 0 };
  for (const text of texts) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) out.entries.push({ text, value: parsed.data });
    else out.unreadable++;
  }
  return out;
}

/** Runs a MULTI; a command that failed inside it fails the call (ioredis only reports it). */
export async function exec(multi: ChainableCommander): Promise<void> {
  const results = await multi.exec();
  const failed = results?.find(([err]) => err);
  if (failed) throw new RedisWriteError(failed[0]);
}
