import { StringDecoder } from "node:string_decoder";
import type { Dispatcher } from "undici";
import { DEFAULT_READ_LIMITS, MAX_ERROR_BODY, ReadLimitError } from "./read-limits.js";

/**
 * Called for each line of a watch stream (its bytes, without the newline), in order. A returned
 * promise holds the next line until it settles; a rejection or a throw ends the stream with it.
 * Bytes, not text: the caller can pass an object's bytes on without encoding them again.
 */
export type LineHandler = (line: Buffer) => undefined | Promise<void>;

/** The response was not 2xx: its status and body, for the caller to explain. */
export class StreamRefused extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
  ) {
    super(`HTTP ${statusCode}`);
  }
}

const HOLD_LINES = 16;

/**
 * Reads a newline-delimited response straight from undici's dispatcher, one callback per line.
 * Thousands of watch streams each carry an event now and then: a Readable and an async iterator
 * per stream cost several promises and stream bookkeeping per event, this costs a split.
 * A line longer than `maxLineBytes` ends the request with a ReadLimitError as soon as its bytes
 * pass the limit, so a stream never holds more than about that much.
 */
export function streamLines(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal,
  onLine: LineHandler,
  maxLineBytes = DEFAULT_READ_LIMITS.maxLineBytes,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const decoder = new StringDecoder("utf8");
    let partial: Buffer | undefined;
    let lines: Buffer[] = [];
    let next = 0;
    let waiting = false;
    let ended = false;
    let settled = false;
    let refused: { status: number; body: string } | undefined;
    let controller: Dispatcher.DispatchController | undefined;

    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (err) {
        if (controller && !controller.aborted) controller.abort(err);
        reject(err);
      } else resolve();
    };
    const onAbort = () => finish(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });

    const drain = () => {
      while (next < lines.length && !settled) {
        const line = lines[next++] as Buffer;
        let held: undefined | Promise<void>;
        try {
          held = onLine(line);
        } catch (err) {
          return finish(err as Error);
        }
        if (held) {
          waiting = true;
          held.then(() => {
            waiting = false;
            if (controller?.paused) controller.resume();
            drain();
          }, finish);
          return;
        }
      }
      // Drop the handled lines now: a quiet stream would otherwise keep its last events alive
      // until its next chunk, through several garbage collections, thousands of streams over.
      if (next === lines.length) {
        lines = [];
        next = 0;
      }
      if (ended) finish();
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (settled) c.abort(signal.reason ?? new Error("aborted"));
      },
      onResponseStart(_c, statusCode) {
        if (statusCode < 200 || statusCode >= 300) refused = { status: statusCode, body: "" };
      },
      onResponseData(_c, chunk) {
        if (settled) return;
        if (refused) {
          if (refused.body.length < MAX_ERROR_BODY) refused.body += decoder.write(chunk);
          return;
        }
        // A newline byte never sits inside a multi-byte character, so splitting bytes is safe.
        const data = partial ? Buffer.concat([partial, chunk]) : chunk;
        const fresh: Buffer[] = [];
        let start = 0;
        for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
          if (nl - start > maxLineBytes) return finish(new ReadLimitError("watch line", maxLineBytes));
          if (!blank(data, start, nl)) fresh.push(data.subarray(start, nl));
          start = nl + 1;
        }
        partial = start < data.length ? data.subarray(start) : undefined;
        if (partial && partial.length > maxLineBytes) return finish(new ReadLimitError("watch line", maxLineBytes));
        if (fresh.length === 0) return;
        lines = next < lines.length ? lines.slice(next).concat(fresh) : fresh;
        next = 0;
        if (!waiting) drain();
        // Lines wait here while the handler holds the stream; past a few, the socket waits
        // instead. Pausing at once cost more than the event: undici puts the bytes back into the
        // socket and reads them again on resume.
        else if (lines.length - next > HOLD_LINES && controller && !controller.paused) controller.pause();
      },
      onResponseEnd() {
        if (refused) return finish(new StreamRefused(refused.status, refused.body + decoder.end()));
        if (partial && !blank(partial, 0, partial.length)) lines.push(partial);
        partial = undefined;
        ended = true;
        if (!waiting) drain();
      },
      onResponseError(_c, err) {
        finish(err);
      },
    };
    try {
      dispatcher.dispatch(options, handler);
    } catch (err) {
      finish(err as Error);
    }
  });
}

/** Only spaces, tabs and carriage returns between start and end. */
function blank(data: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = data[i];
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}
