import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** A temporary file next to `file`, so that its rename over `file` stays on one filesystem. */
export function tempPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
}

/** Writes and fsyncs `path`. */
export async function writeSynced(path: string, text: string): Promise<void> {
  const handle = await open(path, "w", 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `file` in one step: readers see the old content or the new, never a part. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = tempPathFor(file);
  try {
    await writeSynced(tmp, text);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
