import { age, cell, list, renderTable, shortTime } from "./text.js";
import type { Delivery, DeadLetter, Server } from "./views.js";

export function serverState(server: Server): string {
  if (server.status) return server.status.state;
  return server.enabled === false ? "disabled" : "enabled";
}

export function serverTable(servers: readonly Server[], now: Date): string {
  return renderTable(
    ["NAME", "URL", "STATE", "CLUSTERS", "RESOURCES", "NAMESPACES", "AGE"],
    servers.map((s) => [
      cell(s.name),
      cell(s.url),
      cell(serverState(s)),
      list(s.filters?.clusters),
      list(s.filters?.resources),
      list(s.filters?.namespaces),
      age(s.createdAt, now),
    ]),
  );
}

/** `server get`: its row, its other filters, and its delivery status. */
export function serverDetail(server: Server, now: Date): string {
  const lines: string[] = [];
  const f = server.filters ?? {};
  if (f.eventTypes?.length) lines.push(`Event types:      ${list(f.eventTypes)}`);
  if (f.labelSelector) lines.push(`Label selector:   ${cell(f.labelSelector)}`);
  if (f.expression) lines.push(`Expression:       ${cell(f.expression)}`);
  const s = server.status;
  if (s) {
    if (s.reason) lines.push(`Reason:           ${cell(s.reason)}`);
    lines.push(`Pending:          ${cell(s.pending)}`);
    lines.push(`Dead letters:     ${cell(s.deadLetters)}`);
    lines.push(`Last success:     ${shortTime(s.lastSuccessAt)}`);
    lines.push(`Last failure:     ${shortTime(s.lastFailureAt)}`);
  }
  const details = lines.length > 0 ? `\n${lines.join("\n")}\n` : "";
  return serverTable([server], now) + details;
}

export function deliveryTable(deliveries: readonly Delivery[]): string {
  return renderTable(
    ["TIME", "EVENT", "ATTEMPT", "STATUS", "OUTCOME", "DURATION", "ERROR"],
    deliveries.map((d) => [
      shortTime(d.at),
      cell(d.eventId),
      cell(d.attempt),
      d.status === 0 ? "-" : cell(d.status),
      cell(d.outcome),
      `${Math.round(d.durationMs)}ms`,
      cell(d.error),
    ]),
  );
}

export function deadLetterTable(letters: readonly DeadLetter[], now: Date): string {
  return renderTable(
    ["ID", "EVENT", "STATUS", "ATTEMPTS", "ERROR", "AGE"],
    letters.map((d) => [
      cell(d.id),
      cell(d.eventId),
      d.status === 0 ? "-" : cell(d.status),
      cell(d.attempts),
      cell(d.error),
      age(d.at, now),
    ]),
  );
}
