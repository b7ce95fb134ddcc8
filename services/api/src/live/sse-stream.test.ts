import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { createLogger } from "@mcic/core";
import { describe, expect, it } from "vitest";
import { SseStream } from "./sse-stream.js";

/** A response whose client reads nothing until told: what is queued stays queued. */
class StuckResponse extends EventEmitter {
  written: string[] = [];
  writableLength = 0;
  shouldKeepAlive = true;
  ended = false;
  writeHead() {
    return this;
  }
  write(text: string) {
    this.written.push(text);
    this.writableLength += text.length;
    return true;
  }
  end() {
    this.ended = true;
  }
}

describe("SseStream", () => {
  it("drops events for a client that does not read, then tells it how many it missed", () => {
    const res = new StuckResponse();
    let ended = 0;
    const stream = new SseStream(res as unknown as ServerResponse, {
      matches: () => true,
      logger: createLogger({ name: "test", level: "silent" }),
      maxBufferedBytes: 100,
      onEnd: () => ended++,
    });
    const event = JSON.stringify({ id: "x".repeat(40) });
    for (let i = 0; i < 10; i++) stream.send(event);
    const queued = res.written.filter((w) => w.startsWith("data:")).length;
    expect(queued).toBeLessThan(10);
    expect(res.writableLength).toBeLessThan(100 + 2 * event.length);

    res.writableLength = 0; // the client caught up
    stream.send(event);
    const tail = res.written.slice(-2);
    expect(tail[0]).toBe(`event: dropped\ndata: {"dropped":${10 - queued}}\n\n`);
    expect(tail[1]).toBe(`data: ${event}\n\n`);
    expect(res.shouldKeepAlive).toBe(false);

    stream.end();
    expect(res.ended).toBe(true);
    res.emit("close");
    expect(ended).toBe(1);
  });
});
