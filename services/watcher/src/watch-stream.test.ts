import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { waitFor } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReadLimitError } from "./read-limits.js";
import { StreamRefused, streamLines } from "./watch-stream.js";

// Each request path names what the server writes, chunk by chunk, with a pause between chunks so
// they arrive as separate reads.
// `endless` is written again and again after the chunks, until the client goes away.
const scripts: Record<string, { status: number; chunks: (string | Buffer)[]; endless?: string }> = {};
/** Whether the server was still writing when the client went away, per path. */
const cutOff: Record<string, boolean> = {};
let server: Server;
let origin: string;
const agent = new Agent();

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const script = scripts[req.url ?? ""];
    if (!script) return res.writeHead(404).end();
    res.writeHead(script.status, { "content-type": "application/json" });
    for (const chunk of script.chunks) {
      res.write(chunk);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (script.endless) {
      let gone = false;
      res.once("close", () => {
        gone = true;
      });
      const drained = () =>
        new Promise<void>((resolve) => {
          const done = () => {
            res.off("drain", done).off("close", done);
            resolve();
          };
          res.on("drain", done).on("close", done);
        });
      // Bounded so a client that never stops cannot keep the test server busy forever.
      for (let i = 0; i < 20_000 && !gone; i++) {
        if (!res.write(script.endless)) await drained();
      }
      if (gone) {
        cutOff[req.url ?? ""] = true;
        return;
      }
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await agent.close();
  await new Promise((resolve) => server.close(resolve));
});

async function read(
  path: string,
  chunks: (string | Buffer)[],
  status = 200,
  hold?: (n: number) => Promise<void>,
  maxLineBytes?: number,
) {
  scripts[path] = { status, chunks };
  const lines: string[] = [];
  await streamLines(
    agent,
    { origin, path, method: "GET" },
    new AbortController().signal,
    (line) => {
      lines.push(line.toString("utf8"));
      return hold?.(lines.length);
    },
    maxLineBytes,
  );
  return lines;
}

describe("streamLines", () => {
  it("hands over whole lines in order, however the bytes are chunked, skipping blank ones", async () => {
    const snowman = Buffer.from('{"n":"☃"}\n');
    const lines = await read("/chunks", [
      '{"a":1}\n{"b"',
      ':2}\n\n  \r\n{"c":3}',
      "\n",
      snowman.subarray(0, 7), // splits the three bytes of ☃
      snowman.subarray(7),
      '{"last":true}',
    ]);
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}', '{"n":"☃"}', '{"last":true}']);
  });

  it("holds the next line until the handler's promise settles, keeping the order", async () => {
    const seen: number[] = [];
    const lines = await read(
      "/hold",
      Array.from({ length: 40 }, (_, i) => `{"i":${i}}\n`),
      200,
      async (n) => {
        seen.push(n);
        await new Promise((resolve) => setTimeout(resolve, 1));
      },
    );
    expect(lines).toEqual(Array.from({ length: 40 }, (_, i) => `{"i":${i}}`));
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("ends with the handler's error, and with the status and body of a refused request", async () => {
    await expect(read("/throws", ['{"a":1}\n{"b":2}\n'], 200, () => Promise.reject(new Error("no")))).rejects.toThrow(
      "no",
    );
    const refused = await read("/refused", ['{"message":"gone"}'], 410).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StreamRefused);
    expect(refused).toMatchObject({ statusCode: 410, body: '{"message":"gone"}' });
  });

  it("takes a line of exactly maxLineBytes, and ends the stream at a longer one, naming the limit", async () => {
    const full = "x".repeat(1024);
    expect(await read("/at-cap", [`${full}\n`, full.slice(0, 500), full.slice(500)], 200, undefined, 1024)).toEqual([
      full,
      full,
    ]);
    const seen: string[] = [];
    const over = await read(
      "/over-cap",
      ['{"a":1}\n', `${full}x\n`, '{"b":2}\n'],
      200,
      async (n) => {
        seen.push(String(n));
      },
      1024,
    ).catch((err: unknown) => err);
    expect(over).toBeInstanceOf(ReadLimitError);
    expect((over as Error).message).toBe("watch line over 1 KiB");
    expect(seen).toEqual(["1"]);
  });

  it("stops reading an endless line once it passes maxLineBytes", async () => {
    scripts["/endless"] = { status: 200, chunks: ['{"a":1}\n{"b":'], endless: "y".repeat(16 * 1024) };
    const lines: string[] = [];
    const err = await streamLines(
      agent,
      { origin, path: "/endless", method: "GET" },
      new AbortController().signal,
      (line) => void lines.push(line.toString("utf8")),
      64 * 1024,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadLimitError);
    expect((err as Error).message).toBe("watch line over 64 KiB");
    expect(lines).toEqual(['{"a":1}']);
    // The request was ended while the server still had more to send: nothing past the cap is kept.
    await waitFor(() => cutOff["/endless"], { timeoutMs: 5000, message: "the server to see the client go" });
  });

  it("stops at once when aborted", async () => {
    scripts["/long"] = { status: 200, chunks: Array.from({ length: 400 }, () => '{"x":1}\n') };
    const abort = new AbortController();
    let count = 0;
    const done = streamLines(agent, { origin, path: "/long", method: "GET" }, abort.signal, () => {
      if (++count === 3) abort.abort(new Error("stopped"));
      return undefined;
    });
    await expect(done).rejects.toThrow("stopped");
    expect(count).toBeLessThan(400);
  });
});
