/** What tests need of a Kubernetes API client: JSON calls and watch streams, over plain HTTP. */
export interface Reply {
  status: number;
  body: any;
}

export interface WatchHandle {
  status: number;
  events: { type: string; object: any }[];
  /** Settles when the server ends the stream: with the error when it was cut, not ended. */
  ended: Promise<Error | undefined>;
  isEnded(): boolean;
  close(): void;
}

export function testClient(base: string, token?: string) {
  const headers = (extra: Record<string, string> = {}) => ({
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...extra,
  });

  async function call(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<Reply> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: headers(body === undefined ? {} : { "content-type": contentType }),
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
  }

  async function watch(path: string): Promise<WatchHandle> {
    const controller = new AbortController();
    const res = await fetch(`${base}${path}`, { headers: headers(), signal: controller.signal });
    const events: WatchHandle["events"] = [];
    let done = false;
    const ended = (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      try {
        for await (const chunk of res.body ?? []) {
          buffer += decoder.decode(chunk, { stream: true });
          for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
            events.push(JSON.parse(buffer.slice(0, i)));
            buffer = buffer.slice(i + 1);
          }
        }
        return undefined;
      } catch (err) {
        return err as Error;
      } finally {
        done = true;
      }
    })();
    return { status: res.status, events, ended, isEnded: () => done, close: () => controller.abort() };
  }

  return { call, get: (path: string) => call("GET", path), watch };
}

/** "ADDED shop/web"-style summaries of watch events, bookmarks left out. */
export const changes = (w: WatchHandle) =>
  w.events
    .filter((e) => e.type !== "BOOKMARK")
    .map(
      (e) =>
        `${e.type} ${e.object.metadata.namespace ? `${e.object.metadata.namespace}/` : ""}${e.object.metadata.name}`,
    );
