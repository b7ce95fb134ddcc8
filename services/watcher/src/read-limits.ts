import type { Readable } from "node:stream";
import { McicError } from "@mcic/core";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * How much of a cluster's answers the watcher holds in memory at once. A hostile or broken API
 * server must not be able to grow a watcher shared by many clusters without bound.
 */
export interface ReadLimits {
  /** One watch line (one event): Kubernetes objects are at most 1.5 MiB, plus the event around it. */
  maxLineBytes: number;
  /** One JSON answer: a list page or a discovery document. */
  maxBodyBytes: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = { maxLineBytes: 4 * MiB, maxBodyBytes: 64 * MiB };

/** Enough of a refused answer's body to explain it. */
export const MAX_ERROR_BODY = 64 * KiB;

/** A line or body larger than its limit: the request was ended there. */
export class ReadLimitError extends McicError {
  readonly limit: number;
  constructor(what: string, limit: number) {
    super("kube_read_limit", `${what} over ${sizeText(limit)}`, 502);
    this.limit = limit;
  }
}

/** "4 MiB", "64 KiB", "100 bytes". */
export function sizeText(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} bytes`;
}

/** The whole body, or `tooLarge()` as soon as more than `limit` bytes arrived (the body is ended). */
export async function readCapped(body: Readable, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    // Leaving the loop destroys the body, so the rest is never read.
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/** The first `limit` bytes of the body; the rest is not read. */
export async function readHead(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit);
}
