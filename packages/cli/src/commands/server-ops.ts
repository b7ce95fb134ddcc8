import type { Command } from "commander";
import { seg } from "../api-client.js";
import { integer, readUserFile } from "../args.js";
import { type Io, contextOf } from "../context.js";
import { FailedError } from "../errors.js";
import { deadLetterTable, deliveryTable } from "../server-view.js";
import { cell, list, renderTable, shortTime } from "../text.js";
import {
  DeadLetterSchema,
  DeliverySchema,
  ReplayResultSchema,
  ResyncResultSchema,
  RotateResultSchema,
  TestResultSchema,
} from "../views.js";

const OUTCOMES = ["delivered", "retrying", "dead-lettered", "disabled", "superseded", "dropped"];

/** What acts on one server's deliveries: test, resync, rotate-secret, deliveries, dead-letters. */
export function addServerOpsCommands(program: Command, io: Io): void {
  const server = program.commands.find((c) => c.name() === "server");
  if (!server) throw new Error("the server command must be added first");

  server
    .command("test")
    .description("send one signed dev.mcic.ping event to the server now and show how it went (exit 1 if not 2xx)")
    .argument("<name>", "server name")
    .action(async (name: string, _options: unknown, command: Command) => {
      const ctx = contextOf(command, io);
      const { value } = await ctx.api.request("POST", `/servers/${seg(name)}/test`, TestResultSchema);
      const took = `${Math.round(value.durationMs)} ms`;
      ctx.print(value, () =>
        value.ok
          ? `ping to "${cell(name)}": ok (HTTP ${value.status}, ${took})\n`
          : `ping to "${cell(name)}": failed: ${cell(value.error ?? `HTTP ${value.status}`)} (${took})\n`,
      );
      if (!value.ok) throw new FailedError(`the server "${name}" did not accept the test event`);
    });

  server
    .command("resync")
    .description("deliver the current state of every matching object to this server alone (exit 1 if a cluster failed)")
    .argument("<name>", "server name")
    .action(async (name: string, _options: unknown, command: Command) => {
      const ctx = contextOf(command, io);
      const { value } = await ctx.api.request("POST", `/servers/${seg(name)}/resync`, ResyncResultSchema);
      ctx.print(value, () => {
        const head = `snapshot requested for "${cell(name)}" (request ${cell(value.requestId)})\n`;
        if (value.clusters.length === 0) return `${head}no cluster matches its filters\n`;
        const rows = value.clusters.map((c) => [
          cell(c.cluster),
          cell(c.state),
          c.objects === undefined ? "-" : String(c.objects),
          cell(c.reason ?? ""),
        ]);
        return head + renderTable(["CLUSTER", "STATE", "OBJECTS", "REASON"], rows);
      });
      // A script that asked for a snapshot learns that part of it failed; pending ones finish later.
      const failed = value.clusters.filter((c) => c.state === "failed").map((c) => c.cluster);
      if (failed.length > 0) throw new FailedError(`the snapshot failed for ${list(failed)}`);
    });

  server
    .command("rotate-secret")
    .description("replace the signing secret; the old one keeps signing too for the grace period")
    .argument("<name>", "server name")
    .option(
      "--grace <seconds>",
      "how long deliveries also carry the old signature (default 86400)",
      integer(0, 2_592_000),
    )
    .option("--secret-file <path>", 'file holding the new secret ("whsec_..."; generated when absent)')
    .action(async (name: string, options: { grace?: number; secretFile?: string }, command: Command) => {
      const ctx = contextOf(command, io);
      const body = {
        ...(options.grace !== undefined ? { graceSeconds: options.grace } : {}),
        ...(options.secretFile !== undefined
          ? { secret: readUserFile("--secret-file", options.secretFile, 4096).trim() }
          : {}),
      };
      const { value } = await ctx.api.request("POST", `/servers/${seg(name)}/rotate-secret`, RotateResultSchema, {
        body,
      });
      ctx.print(
        value,
        () =>
          `secret: ${value.secret}\n(shown only now: give it to the receiver)\n` +
          `the previous secret signs too until ${shortTime(value.previousExpiresAt)}\n`,
      );
    });

  program
    .command("deliveries")
    .description("recent delivery attempts to a server, newest first")
    .argument("<server>", "server name")
    .option("--outcome <outcome>", `only attempts with this outcome: ${OUTCOMES.join(", ")}`)
    .option("--limit <n>", "at most this many (default 100)", integer(1, 1000))
    .action(async (name: string, options: { outcome?: string; limit?: number }, command: Command) => {
      const ctx = contextOf(command, io);
      const deliveries = await ctx.api.get(`/servers/${seg(name)}/deliveries`, DeliverySchema.array(), {
        outcome: options.outcome,
        limit: options.limit,
      });
      ctx.print(deliveries, () => (deliveries.length === 0 ? "no deliveries yet\n" : deliveryTable(deliveries)));
    });

  program
    .command("dead-letters")
    .description("events that could not be delivered to a server; --replay delivers them again")
    .argument("<server>", "server name")
    .option("--replay [ids...]", "replay these dead letters (all when no id is given)")
    .option("--limit <n>", "list at most this many (default 100)", integer(1, 10_000))
    .action(async (name: string, options: { replay?: true | string[]; limit?: number }, command: Command) => {
      const ctx = contextOf(command, io);
      if (options.replay !== undefined) {
        const ids = options.replay === true ? undefined : options.replay;
        const { value } = await ctx.api.request(
          "POST",
          `/servers/${seg(name)}/dead-letters/replay`,
          ReplayResultSchema,
          {
            body: ids ? { ids } : {},
          },
        );
        ctx.print(
          value,
          () => `${value.replayed} dead letter${value.replayed === 1 ? "" : "s"} queued for delivery again\n`,
        );
        return;
      }
      const answer = await ctx.api.request("GET", `/servers/${seg(name)}/dead-letters`, DeadLetterSchema.array(), {
        query: { limit: options.limit },
      });
      const letters = answer.value;
      const total = Number(answer.headers.get("x-total-count") ?? letters.length);
      ctx.print(letters, () => {
        if (letters.length === 0) return "no dead letters\n";
        const more = total > letters.length ? `(${letters.length} of ${total} shown; --limit shows more)\n` : "";
        return deadLetterTable(letters, io.now()) + more;
      });
    });
}
