// The clusters and servers tables, from the API's lists, the servers' own status and /stats.
import { ago, badge, el, rate, replaceRows } from "./dom.js";

/**
 * @typedef {{ resource: string, state: string, message?: string, lastEventAt?: string }} ResourceStatus
 * @typedef {{ name: string, status?: { state: string, lastEventAt?: string, resources: ResourceStatus[] } }} Cluster
 * @typedef {{ state: string, reason?: string, lastSuccessAt?: string, pending?: number, deadLetters: number }} ServerStatus
 * @typedef {{ name: string, url: string, enabled: boolean, status?: ServerStatus }} Server
 * @typedef {{ name: string, eventsPerSecond: number }} ClusterRate
 * @typedef {{ name: string, deliveriesPerSecond: number, successRate: number | null }} ServerRate
 * @typedef {{ clusters: ClusterRate[], servers: ServerRate[] }} Stats
 */

/** @param {Cluster[]} clusters @param {Stats} stats */
export function renderClusters(clusters, stats) {
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
export function renderServers(servers, stats) {
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
