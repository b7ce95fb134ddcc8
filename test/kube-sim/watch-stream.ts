import type { ServerResponse } from "node:http";
import { eventLine } from "./kube-object.js";
import { type ResourceDef, apiVersionOf } from "./resources.js";
import { type ObjectFilter, eventFor, matches } from "./selectors.js";
import type { SimCluster, Watcher } from "./sim-cluster.js";
import { badRequest, expired } from "./status-error.js";

export interface WatchOptions {
  bookmarkIntervalMs: number;
}

/**
 * Serves `?watch=true` the way the apiserver does: a chunked stream of JSON lines that starts with
 * synthetic ADDED events (resourceVersion unset or "0") or the replay of every change after the
 * given resourceVersion, then follows live changes, with periodic BOOKMARKs when asked for and
 * an end after timeoutSeconds. A resourceVersion older than the kept history gets one ERROR
 * event (410 Expired) and the end of the stream, not an HTTP error: that is what clients expect.
 */
export function serveWatch(
  cluster: SimCluster,
  def: ResourceDef,
  filter: ObjectFilter,
  query: URLSearchParams,
  res: ServerResponse,
  options: WatchOptions,
): void {
  const rvParam = query.get("resourceVersion") ?? "";
  if (rvParam !== "" && !/^\d+$/.test(rvParam)) throw badRequest(`invalid resource version: ${rvParam}`);
  const fromNow = rvParam === "" || rvParam === "0" || query.get("sendInitialEvents") === "true";
  const replay = fromNow ? [] : cluster.changesSince(def, Number(rvParam));

  res.writeHead(200, { "content-type": "application/json", "cache-control": "no-cache, private" });
  // Clients count a watch as open once they have the headers; send them now, not with the first event.
  res.flushHeaders();
  const write = (line: string) => {
    if (!res.writableEnded && !res.destroyed) res.write(line);
  };
  if (!replay) {
    const status = expired(`too old resource version: ${rvParam} (${cluster.compactedRv})`).toStatus();
    res.end(eventLine("ERROR", status));
    return;
  }

  const bookmark = (annotations?: Record<string, string>) =>
    write(
      eventLine("BOOKMARK", {
        kind: def.kind,
        apiVersion: apiVersionOf(def),
        metadata: { resourceVersion: cluster.resourceVersion, ...(annotations ? { annotations } : {}) },
      }),
    );
  const bookmarks = query.get("allowWatchBookmarks") === "true";
  if (fromNow) {
    for (const o of cluster.snapshot(def)) if (matches(filter, o)) write(eventLine("ADDED", o));
    if (bookmarks && query.get("sendInitialEvents") === "true") bookmark({ "k8s.io/initial-events-end": "true" });
  } else {
    for (const c of replay) {
      const event = eventFor(filter, c);
      if (event) write(eventLine(event.type, event.object));
    }
  }

  const timers: NodeJS.Timeout[] = [];
  const watcher: Watcher = {
    filter,
    send: write,
    close: (graceful) => {
      stop();
      if (graceful) res.end();
      else res.destroy();
    },
  };
  const unsubscribe = cluster.watch(def, watcher);
  const stop = () => {
    unsubscribe();
    for (const t of timers) clearTimeout(t);
  };
  if (bookmarks) timers.push(setInterval(() => bookmark(), options.bookmarkIntervalMs));
  const timeout = Number(query.get("timeoutSeconds") ?? 0);
  if (timeout > 0) timers.push(setTimeout(() => watcher.close(true), timeout * 1000));
  // "close" comes both when the client goes away and after we end the stream.
  res.on("close", stop);
}
