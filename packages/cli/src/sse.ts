/** One Server-Sent Event: `event` is "message" when the stream named none. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** A line longer than this is not an event mcic sends: the stream is refused rather than buffered. */
const MAX_LINE = 8 * 1024 * 1024;

/**
 * The events of a text/event-stream body, as the WHATWG parsing rules have them: `data` lines
 * joined by newlines, comments (`: keepalive`) skipped, an event dispatched at a blank line.
 */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.search(/\r\n|\r|\n/);
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      const width = buffer.startsWith("\r\n", newline) ? 2 : 1;
      buffer = buffer.slice(newline + width);
      if (line === "") {
        if (data.length > 0) yield { event: event || "message", data: data.join("\n"), ...(id ? { id } : {}) };
        event = "";
        data = [];
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "data") data.push(value);
        else if (field === "event") event = value;
        else if (field === "id") id = value;
      }
      newline = buffer.search(/\r\n|\r|\n/);
    }
    if (buffer.length > MAX_LINE) throw new Error("an event stream line exceeds 8 MiB");
  }
}
