// The mcic status page: clusters, servers, an events/s chart and a live tail, from the public API.
// Everything the API returns is shown through textContent, never as HTML (dom.js). The bearer token
// is asked for when the API answers 401 and kept in sessionStorage.
import { drawChart, tick } from "./chart.js";
import { byId, setLive, showError } from "./dom.js";
import { follow, renderTail, togglePause, unfollow } from "./live.js";
import { renderClusters, renderServers } from "./tables.js";

/** @typedef {import("./tables.js").Cluster} Cluster @typedef {import("./tables.js").Server} Server @typedef {import("./tables.js").Stats} Stats */

const TOKEN_KEY = "mcic.token";
const REFRESH_MS = 5000;

class Unauthorized extends Error {}

let token = sessionStorage.getItem(TOKEN_KEY) ?? "";
/** @type {ReturnType<typeof setTimeout> | undefined} */
let refreshTimer;

/** @returns {Record<string, string>} */
function authHeaders() {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** @param {string} path */
async function getJson(path) {
  const res = await fetch(path, { headers: authHeaders(), cache: "no-store" });
  if (res.status === 401) throw new Unauthorized();
  if (!res.ok) throw new Error(`${path} answered HTTP ${res.status}`);
  return res.json();
}

function askForToken() {
  unfollow();
  clearTimeout(refreshTimer);
  byId("main").hidden = true;
  byId("login").hidden = false;
  byId("forget").hidden = true;
  setLive("offline", "signed out");
  showError(token ? "The API refused the token." : undefined);
  byId("token-input").focus();
}

function start() {
  byId("login").hidden = true;
  byId("main").hidden = false;
  byId("forget").hidden = !token;
  void refresh();
  follow({ headers: authHeaders, onUnauthorized: askForToken });
}

async function refresh() {
  clearTimeout(refreshTimer);
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
  refreshTimer = setTimeout(() => void refresh(), REFRESH_MS);
}

byId("login").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId("token-input"));
  token = input.value.trim();
  input.value = "";
  sessionStorage.setItem(TOKEN_KEY, token);
  showError();
  start();
});
byId("forget").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  token = "";
  askForToken();
});
byId("tail-filter").addEventListener("input", renderTail);
byId("tail-type").addEventListener("change", renderTail);
byId("tail-pause").addEventListener("click", () => {
  byId("tail-pause").textContent = togglePause() ? "Resume" : "Pause";
});
setInterval(tick, 1000);
drawChart();
renderTail();
start();
