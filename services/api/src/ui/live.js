// The live tail: follows /api/v1/events/stream (with fetch: EventSource cannot send the token),
// keeps the newest events and shows those that pass the page's filter.
import { count } from "./chart.js";
import { badge, byId, el, replaceRows, setLive, showError } from "./dom.js";

const RECONNECT_MS = 3000;
const TAIL_KEPT = 500;
const TAIL_SHOWN = 200;

/**
 * @typedef {{ type: string, cluster: string, resource: string, namespace?: string, name: string,
 *   resourceVersion: string, observedAt: string }} Envelope
 * @typedef {{ time: string, type: string, cluster: string, resource: string, object: string, version: string,
 *   text: string }} TailLine
 * @typedef {{ headers: () => Record<string, string>, onUnauthorized: () => void }} LiveOptions
 */

/** @type {TailLine[]} newest first */
const tail = [];
let paused = false;
let renderPending = false;
/** @type {AbortController | undefined} */
let stream;

/** Reads the event stream until it ends, then again; a 401 hands over to the sign-in. @param {LiveOptions} o */
export function follow(o) {
  stream?.abort();
  const controller = new AbortController();
  stream = controller;
  void (async () => {
    try {
      const res = await fetch("/api/v1/events/stream", { headers: o.headers(), signal: controller.signal });
      if (res.status === 401) return o.onUnauthorized();
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      setLive("live", "live");
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          onFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (err) {
      if (controller.signal.aborted) return;
      showError(`The event stream failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (controller.signal.aborted) return;
    setLive("offline", "reconnecting");
    setTimeout(() => {
      if (stream === controller) follow(o);
    }, RECONNECT_MS);
  })();
}

export function unfollow() {
  stream?.abort();
  stream = undefined;
}

/** @returns {boolean} whether the tail is paused now */
export function togglePause() {
  paused = !paused;
  if (!paused) renderTail();
  return paused;
}

/** @param {string} frame one SSE event, without its blank line */
function onFrame(frame) {
  let event = "message";
  const data = [];
  for (const line of frame.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (data.length === 0) return;
  try {
    const payload = JSON.parse(data.join("\n"));
    if (event === "message") onEnvelope(/** @type {Envelope} */ (payload));
    else if (event === "dropped") onDropped(Number(payload.dropped) || 0);
  } catch {
    // A frame that is not JSON is not ours to show.
  }
}

/** @param {Envelope} e */
function onEnvelope(e) {
  count(1);
  const object = e.namespace ? `${e.namespace}/${e.name}` : e.name;
  const line = {
    time: new Date(e.observedAt).toLocaleTimeString(),
    type: String(e.type),
    cluster: String(e.cluster),
    resource: String(e.resource),
    object: String(object),
    version: String(e.resourceVersion),
    text: "",
  };
  line.text = `${line.type} ${line.cluster} ${line.resource} ${line.object}`.toLowerCase();
  tail.unshift(line);
  if (tail.length > TAIL_KEPT) tail.length = TAIL_KEPT;
  scheduleTail();
}

/** @param {number} n */
function onDropped(n) {
  count(n);
  byId("tail-note").textContent = `${n} events were dropped: this page fell behind the stream`;
}

function scheduleTail() {
  if (renderPending || paused) return;
  renderPending = true;
  setTimeout(() => {
    renderPending = false;
    renderTail();
  }, 100);
}

export function renderTail() {
  const filter = /** @type {HTMLInputElement} */ (byId("tail-filter")).value.trim().toLowerCase();
  const type = /** @type {HTMLSelectElement} */ (byId("tail-type")).value;
  const shown = tail
    .filter((l) => (!type || l.type === type) && (!filter || l.text.includes(filter)))
    .slice(0, TAIL_SHOWN);
  const rows = shown.map((l) =>
    el(
      "tr",
      "",
      el("td", "", l.time),
      el("td", "", badge(l.type)),
      el("td", "", l.cluster),
      el("td", "", l.resource),
      el("td", "wrap", l.object),
      el("td", "muted", l.version),
    ),
  );
  replaceRows("tail", rows, tail.length ? "No event matches the filter." : "Waiting for events…", 6);
}
