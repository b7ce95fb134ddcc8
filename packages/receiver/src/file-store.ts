import { createHash } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ReceiverStore } from "./store.js";

export interface FileStoreOptions {
  /** fsync each file before it replaces the old one, so a power loss cannot leave it empty (default true). */
  fsync?: boolean;
}

/**
 * One JSON file per key in `dir` (created if missing), named by the key's SHA-256 so any key is a
 * safe file name; the file holds `{key, value}`. A write goes to a temporary file that is renamed
 * over the old one, so a crash leaves either the old or the new value, never half of one.
 */
export function fileStore(dir: string, options: FileStoreOptions = {}): ReceiverStore {
  const fsync = options.fsync ?? true;
  let ready: Promise<unknown> | undefined;
  let seq = 0;
  const ensureDir = () => {
    ready ??= mkdir(dir, { recursive: true, mode: 0o700 });
    return ready;
  };
  const fileOf = (key: string) => join(dir, `${createHash("sha256").update(key).digest("hex")}.json`);
  const readEntry = async (file: string): Promise<{ key: string; value: unknown } | undefined> => {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    const entry = JSON.parse(text) as { key?: unknown; value?: unknown };
    if (typeof entry?.key !== "string") throw new Error(`${file}: not a receiver store entry`);
    return { key: entry.key, value: entry.value };
  };
  return {
    get: async (key) => {
      await ensureDir();
      return (await readEntry(fileOf(key)))?.value;
    },
    set: async (key, value) => {
      await ensureDir();
      const file = fileOf(key);
      const tmp = `${file}.${process.pid}.${seq++}.tmp`;
      const handle = await open(tmp, "w", 0o600);
      try {
        await handle.writeFile(JSON.stringify({ key, value }));
        if (fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
    },
    delete: async (key) => {
      await ensureDir();
      await rm(fileOf(key), { force: true });
    },
    keys: async () => {
      await ensureDir();
      const keys: string[] = [];
      for (const name of await readdir(dir)) {
        if (!name.endsWith(".json")) continue; // a .tmp left by a crash mid-write is not a value
        const entry = await readEntry(join(dir, name));
        if (entry) keys.push(entry.key);
      }
      return keys;
    },
  };
}
