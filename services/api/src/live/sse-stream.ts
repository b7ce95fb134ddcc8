import type { ServerResponse } from "node:http";
import type { Logger } from "@mcic/core";
import type { HubSubscriber } from "./event-hub.js";
import type { EnvelopeMatcher } from "@mcic/core";

export interface SseOptions {
  matches: EnvelopeMatcher;
  logger: Logger;
  /** Comment lines that keep proxies from closing an idle stream (default 15 s). */
  keepaliveMs?: number;
  /** Bytes queued for a client above which its events are dropped, not buffered (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Called once when the stream ended, whoever ended it. */
  onEnd: () => void;
}

/**
 * One Server-Sent Events response. Envelopes go out as `data:` lines of the default `message`
 * event, without an `id:` line (a live tail cannot resume, and ids come from clusters). A client
 * that reads slower than events come loses events rather than growing a buffer here: once it
 * catches up it gets one `dropped` event saying how many it missed.
 */
export class SseStream implements HubSubscriber {
  readonly matches: EnvelopeMatcher;
  readonly #res: ServerResponse;
  readonly #o: SseOptions;
  readonly #max: number;
  readonly #keepalive: NodeJS.Timeout;
  #dropped = 0;
  #ended = false;

  constructor(res: ServerResponse, options: SseOptions) {
    this.#res = res;
    this.#o = options;
    this.matches = options.matches;
    this.#max = options.maxBufferedBytes ?? 1024 * 1024;
    // The socket closes with the stream: an ended stream must not hold the server open at stop.
    res.shouldKeepAlive = false;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-store",
      "x-accel-buffering": "no",
      "x-content-type-options": "nosniff",
    });
    res.write(": mcic live events\nretry: 3000\n\n");
    this.#keepalive = setInterval(() => this.#write(": keepalive\n\n"), options.keepaliveMs ?? 15_000);
    this.#keepalive.unref();
    res.on("close", () => this.#finish());
    res.on("error", () => this.#finish());
  }

  send(json: string): void {
    if (this.#ended) return;
    if (this.#res.writableLength > this.#max) {
      if (this.#dropped === 0) this.#o.logger.warn("live stream client is too slow; dropping its events");
      this.#dropped++;
      return;
    }
    if (this.#dropped > 0) {
      this.#res.write(`event: dropped\ndata: ${JSON.stringify({ dropped: this.#dropped })}\n\n`);
      this.#dropped = 0;
    }
    this.#res.write(`data: ${json}\n\n`);
  }

  end(): void {
    if (this.#ended) return;
    this.#res.end();
    this.#finish();
  }

  #write(text: string): void {
    if (!this.#ended && this.#res.writableLength <= this.#max) this.#res.write(text);
  }

  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#keepalive);
    this.#o.onEnd();
  }
}
