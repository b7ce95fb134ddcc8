// The mcic status page: clusters, servers, an events/s chart and a live tail, from the public API.
// Everything the API returns is shown through textContent (names and hosts come from clusters), never
// as HTML. The bearer token is asked for when the API answers 401 and kept in sessionStorage.

const TOKEN_KEY = "mcic.token";
const REFRESH_MS = 5000;
const RECONNECT_MS = 3000;
const CHART_SECONDS = 60;
const TAIL_KEPT = 500;
const TAIL_SHOWN = 200;

/**
 * @typedef {{ resource: string, state: string, message?: string, lastEventAt?: string }} ResourceStatus
 * @typedef {{ name: string, status?: { state: string, lastEventAt?: string, resources: ResourceStatus[] } }} Cluster
 * @typedef {{ state: string, reason?: string, lastSuccessAt?: string, pending?: number, deadLetters: number }} ServerStatus
 * @typedef {{ name: string, url: string, enabled: boolean, status?: ServerStatus }} Server
 * @typedef {{ name: string, eventsPerSecond: number }} ClusterRate
 * @typedef {{ name: string, deliveriesPerSecond: number, successRate: number | null }} ServerRate
 * @typedef {{ clusters: ClusterRate[], servers: ServerRate[] }} Stats
 * @typedef {{ type: string, cluster: string, resource: string, namespace?: string, name: string,
 *   resourceVersion: string, observedAt: string }} Envelope
 * @typedef {{ time: string, type: string, cluster: string, resource: string, object: string, version: string,
 *   text: string }} TailLine
 */

/** @param {string} id */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}

/**
 * A new element with text children (strings become text nodes: nothing is parsed as HTML).
 * @param {string} tag
 * @param {string} [className]
 * @param {(Node | string)[]} children
 */
function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

/** @param {string} state */
function badge(state) {
  // The class list only ever holds one of our own words, whatever the API sent.
  const known = ["watching", "syncing", "pending", "error", "active", "disabled", "ADDED", "MODIFIED", "DELETED"];
  return el("span", `badge ${known.includes(state) ? state : "pending"}`, state);
}

/** @param {string | undefined} iso */
function ago(iso) {
  if (!iso) return "—";
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return "—";
  if (seconds < 60) return `${Math.max(0, seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

/** @param {number} n */
const rate = (n) => (n >= 10 ? n.toFixed(0) : n.toFixed(2));

class Unauthorized extends Error {}

const page = {
  token: sessionStorage.getItem(TOKEN_KEY) ?? "",
  /** @type {AbortController | undefined} */
  stream: undefined,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  refreshTimer: undefined,
  eventsSeen: 0,
  /** Events per second, oldest first; the last entry is the current second. */
  perSecond: new Array(CHART_SECONDS).fill(0),
  /** @type {TailLine[]} newest first */
  tail: [],
  paused: false,
  tailRenderPending: false,
};

/** @returns {Record<string, string>} */
function authHeaders() {
  return page.token ? { authorization: `Bearer ${page.token}` } : {};
}

/** @param {string} path */
async function getJson(path) {
  const res = await fetch(path, { headers: authHeaders(), cache: "no-store" });
  if (res.status === 401) throw new Unauthorized();
  if (!res.ok) throw new Error(`${path} answered HTTP ${res.status}`);
  return res.json();
}

/** @param {string} [message] */
function showError(message) {
  const box = byId("error");
  box.hidden = !message;
  box.textContent = message ?? "";
}

function askForToken() {
  page.stream?.abort();
  page.stream = undefined;
  clearTimeout(page.refreshTimer);
  byId("main").hidden = true;
  byId("login").hidden = false;
  byId("forget").hidden = true;
  setLive("offline", "signed out");
  showError(page.token ? "The API refused the token." : undefined);
  byId("token-input").focus();
}

function start() {
  byId("login").hidden = true;
  byId("main").hidden = false;
  byId("forget").hidden = !page.token;
  void refresh();
  follow();
}

// ---- clusters, servers, rates ----------------------------------------------------------------

async function refresh() {
  clearTimeout(page.refreshTimer);
  try {
    /** @type {[Cluster[], Server[], Stats]} */
    const [clusters, servers, stats] = await Promise.all([
      getJson("/api/v1/clusters"),
      getJson("/api/v1/servers"),
      getJson("/api/v1/stats"),
    ]);
    // The list has no delivery status; each server's own GET has it.
    const detailed = await Promise.all(
      servers.map((s) => /** @type {Promise<Server>} */ (getJson(`/api/v1/servers/${encodeURIComponent(s.name)}`))),
    );
    renderClusters(clusters, stats);
    renderServers(detailed, stats);
    byId("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    showError();
  } catch (err) {
    if (err instanceof Unauthorized) return askForToken();
    showError(`Could not read the API: ${err instanceof Error ? err.message : String(err)}`);
  }
  page.refreshTimer = setTimeout(() => void refresh(), REFRESH_MS);
}

/** @param {Cluster[]} clusters @param {Stats} stats */
function renderClusters(clusters, stats) {
  const rates = new Map(stats.clusters.map((c) => [c.name, c.eventsPerSecond]));
  const rows = clusters.map((c) => {
    const resources = el("ul", "resources");
    for (const r of c.status?.resources ?? []) {
      const item = el("li", "", badge(r.state), " ", r.resource, el("span", "muted", ` ${ago(r.lastEventAt)}`));
      if (r.message) item.title = r.message;
      resources.append(item);
    }
    return el(
      "tr",
      "",
      el("td", "", c.name),
      el("td", "", badge(c.status?.state ?? "pending")),
      el("td", "", resources),
      el("td", "", ago(c.status?.lastEventAt)),
      el("td", "", rate(rates.get(c.name) ?? 0)),
    );
  });
  replaceRows("clusters", rows, "No clusters registered (POST /api/v1/clusters).", 5);
}

/** @param {Server[]} servers @param {Stats} stats */
function renderServers(servers, stats) {
  const rates = new Map(stats.servers.map((s) => [s.name, s]));
  const rows = servers.map((s) => {
    const r = rates.get(s.name);
    const state = el("td", "", badge(s.status?.state ?? (s.enabled ? "active" : "disabled")));
    if (s.status?.reason) state.append(el("span", "muted", ` ${s.status.reason}`));
    return el(
      "tr",
      "",
      el("td", "", s.name),
      el("td", "wrap", s.url),
      state,
      el("td", "", r?.successRate == null ? "—" : `${(r.successRate * 100).toFixed(1)} %`),
      el("td", "", rate(r?.deliveriesPerSecond ?? 0)),
      el("td", "", String(s.status?.pending ?? 0)),
      el("td", s.status?.deadLetters ? "error" : "", String(s.status?.deadLetters ?? 0)),
      el("td", "", ago(s.status?.lastSuccessAt)),
    );
  });
  replaceRows("servers", rows, "No servers registered (POST /api/v1/servers).", 8);
}

/** @param {string} table @param {HTMLElement[]} rows @param {string} empty @param {number} columns */
function replaceRows(table, rows, empty, columns) {
  const body = byId(table).querySelector("tbody");
  if (!body) return;
  if (rows.length === 0) {
    const cell = /** @type {HTMLTableCellElement} */ (el("td", "muted", empty));
    cell.colSpan = columns;
    rows = [el("tr", "", cell)];
  }
  body.replaceChildren(...rows);
}

// ---- live stream ------------------------------------------------------------------------------

/** @param {string} state @param {string} text */
function setLive(state, text) {
  const live = byId("live");
  live.className = `badge ${state}`;
  live.textContent = text;
}

/** Reads the event stream with fetch (EventSource cannot send the token) until it ends, then again. */
function follow() {
  page.stream?.abort();
  const controller = new AbortController();
  page.stream = controller;
  void (async () => {
    try {
      const res = await fetch("/api/v1/events/stream", { headers: authHeaders(), signal: controller.signal });
      if (res.status === 401) return askForToken();
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
      if (page.stream === controller) follow();
    }, RECONNECT_MS);
  })();
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
  const time = new Date(e.observedAt).toLocaleTimeString();
  const line = {
    time,
    type: String(e.type),
    cluster: String(e.cluster),
    resource: String(e.resource),
    object: String(object),
    version: String(e.resourceVersion),
    text: "",
  };
  line.text = `${line.type} ${line.cluster} ${line.resource} ${line.object}`.toLowerCase();
  page.tail.unshift(line);
  if (page.tail.length > TAIL_KEPT) page.tail.length = TAIL_KEPT;
  scheduleTail();
}

/** @param {number} n */
function onDropped(n) {
  count(n);
  byId("tail-note").textContent = `${n} events were dropped: this page fell behind the stream`;
}

/** @param {number} n */
function count(n) {
  page.eventsSeen += n;
  page.perSecond[CHART_SECONDS - 1] += n;
  byId("event-count").textContent = String(page.eventsSeen);
}

function scheduleTail() {
  if (page.tailRenderPending || page.paused) return;
  page.tailRenderPending = true;
  setTimeout(() => {
    page.tailRenderPending = false;
    renderTail();
  }, 100);
}

function renderTail() {
  const filter = /** @type {HTMLInputElement} */ (byId("tail-filter")).value.trim().toLowerCase();
  const type = /** @type {HTMLSelectElement} */ (byId("tail-type")).value;
  const shown = page.tail
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
  replaceRows("tail", rows, page.tail.length ? "No event matches the filter." : "Waiting for events…", 6);
}

// ---- chart ------------------------------------------------------------------------------------

function tick() {
  const last = page.perSecond[CHART_SECONDS - 1] ?? 0;
  byId("event-rate").textContent = String(last);
  page.perSecond.shift();
  page.perSecond.push(0);
  drawChart();
}

function drawChart() {
  // The second in progress is left out: it would always look like a drop.
  const done = page.perSecond.slice(0, -1);
  const max = Math.max(1, ...done);
  const step = 600 / (done.length - 1);
  const points = done.map((n, i) => `${(i * step).toFixed(1)},${(115 - (n / max) * 110).toFixed(1)}`);
  byId("chart-line").setAttribute("points", points.join(" "));
  byId("chart-max").textContent = `max ${max}/s`;
}

// ---- wiring -----------------------------------------------------------------------------------

byId("login").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId("token-input"));
  page.token = input.value.trim();
  input.value = "";
  sessionStorage.setItem(TOKEN_KEY, page.token);
  showError();
  start();
});
byId("forget").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  page.token = "";
  askForToken();
});
byId("tail-filter").addEventListener("input", renderTail);
byId("tail-type").addEventListener("change", renderTail);
byId("tail-pause").addEventListener("click", () => {
  page.paused = !page.paused;
  byId("tail-pause").textContent = page.paused ? "Resume" : "Pause";
  if (!page.paused) renderTail();
});
setInterval(tick, 1000);
drawChart();
renderTail();
start();
