// DOM helpers of the status page. Everything the API returns goes in through text nodes (names and
// hosts come from clusters), never as HTML.

/** @param {string} id */
export function byId(id) {
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
export function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

/** @param {string} state */
export function badge(state) {
  // The class list only ever holds one of our own words, whatever the API sent.
  const known = ["watching", "syncing", "pending", "error", "active", "disabled", "ADDED", "MODIFIED", "DELETED"];
  return el("span", `badge ${known.includes(state) ? state : "pending"}`, state);
}

/** @param {string | undefined} iso */
export function ago(iso) {
  if (!iso) return "—";
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return "—";
  if (seconds < 60) return `${Math.max(0, seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

/** @param {number} n */
export const rate = (n) => (n >= 10 ? n.toFixed(0) : n.toFixed(2));

/** @param {string} table @param {HTMLElement[]} rows @param {string} empty @param {number} columns */
export function replaceRows(table, rows, empty, columns) {
  const body = byId(table).querySelector("tbody");
  if (!body) return;
  if (rows.length === 0) {
    const cell = /** @type {HTMLTableCellElement} */ (el("td", "muted", empty));
    cell.colSpan = columns;
    rows = [el("tr", "", cell)];
  }
  body.replaceChildren(...rows);
}

/** @param {string} [message] */
export function showError(message) {
  const box = byId("error");
  box.hidden = !message;
  box.textContent = message ?? "";
}

/** @param {string} state @param {string} text */
export function setLive(state, text) {
  const live = byId("live");
  live.className = `badge ${state}`;
  live.textContent = text;
}
