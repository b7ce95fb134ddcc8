// The events-per-second chart of the last minute and the running count of events seen.
import { byId } from "./dom.js";

const CHART_SECONDS = 60;

/** Events per second, oldest first; the last entry is the current second. */
const perSecond = new Array(CHART_SECONDS).fill(0);
let eventsSeen = 0;

/** @param {number} n events that arrived (or that the stream says it dropped) */
export function count(n) {
  eventsSeen += n;
  perSecond[CHART_SECONDS - 1] += n;
  byId("event-count").textContent = String(eventsSeen);
}

/** Closes the current second; called once a second. */
export function tick() {
  byId("event-rate").textContent = String(perSecond[CHART_SECONDS - 1] ?? 0);
  perSecond.shift();
  perSecond.push(0);
  drawChart();
}

export function drawChart() {
  // The second in progress is left out: it would always look like a drop.
  const done = perSecond.slice(0, -1);
  const max = Math.max(1, ...done);
  const step = 600 / (done.length - 1);
  const points = done.map((n, i) => `${(i * step).toFixed(1)},${(115 - (n / max) * 110).toFixed(1)}`);
  byId("chart-line").setAttribute("points", points.join(" "));
  byId("chart-max").textContent = `max ${max}/s`;
}
