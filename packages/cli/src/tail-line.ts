import { clean } from "./text.js";
import type { Envelope } from "./views.js";

/**
 * One event as a tail line: time (UTC, to the second), cluster, TYPE, resource, namespace/name,
 * resourceVersion. Snapshot events say so. Columns are padded to usual widths so lines align.
 */
export function tailLine(e: Envelope): string {
  const time = e.observedAt && !Number.isNaN(Date.parse(e.observedAt)) ? new Date(e.observedAt) : undefined;
  const at = time ? time.toISOString().slice(11, 19) : "--:--:--";
  const object = e.namespace ? `${e.namespace}/${e.name}` : e.name;
  const cells = [
    at,
    clean(e.cluster).padEnd(12),
    clean(e.type).padEnd(8),
    clean(e.resource).padEnd(12),
    clean(object).padEnd(30),
    clean(e.resourceVersion),
  ];
  return `${cells.join("  ")}${e.snapshot ? "  (snapshot)" : ""}\n`;
}
