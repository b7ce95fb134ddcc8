import { describe, expect, it } from "vitest";
import { readSse } from "./sse.js";

async function collect(chunks: string[]) {
  async function* body() {
    for (const c of chunks) yield new TextEncoder().encode(c);
  }
  const events = [];
  for await (const e of readSse(body())) events.push(e);
  return events;
}

describe("Server-Sent Events", () => {
  it("events split anywhere across chunks, comments skipped, multi-line data joined", async () => {
    const events = await collect([
      ": keepalive\n\n",
      'data: {"a"',
      ':1}\n\nevent: dropped\nid: 7\ndata: {"dropped":3}\r\n',
      "\r\ndata: line one\ndata: line two\n\n",
    ]);
    expect(events).toEqual([
      { event: "message", data: '{"a":1}' },
      { event: "dropped", data: '{"dropped":3}', id: "7" },
      { event: "message", data: "line one\nline two", id: "7" },
    ]);
  });

  it("an event cut off by the end of the stream is not delivered half", async () => {
    expect(await collect(["data: complete\n\n", "data: cut"])).toEqual([{ event: "message", data: "complete" }]);
  });

  it("a UTF-8 character split across chunks arrives whole", async () => {
    const bytes = new TextEncoder().encode("data: café\n\n");
    async function* body() {
      yield bytes.slice(0, 10);
      yield bytes.slice(10);
    }
    const events = [];
    for await (const e of readSse(body())) events.push(e);
    expect(events).toEqual([{ event: "message", data: "café" }]);
  });
});
