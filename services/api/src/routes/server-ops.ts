import { randomUUID } from "node:crypto";
import {
  type CloudEvent,
  type DeadLetter,
  DeadLetterSchema,
  type DeliveryRecord,
  DeliveryRecordSchema,
  type DeliveryRequest,
  type Logger,
  McicError,
  NotFoundError,
  type Registry,
  type StoredServer,
  ValidationError,
  deliverySubject,
} from "@mcic/core";
import type { PubAck } from "@nats-io/jetstream";
import type { z } from "zod";
import type { RouteDeps } from "../route-deps.js";
import type { ApiRoutes } from "../routing.js";
import {
  DeadLetterView,
  DeadLettersQuery,
  DeliveriesQuery,
  DeliveryRecordView,
  EmptyBody,
  NameParams,
  REPLAY_EXAMPLES,
  ReplayBody,
  ReplayResultSchema,
  ResyncResultSchema,
  TestResultSchema,
} from "../schemas.js";
import { webhookTarget } from "../server-records.js";
import { settleReplay } from "../server-store.js";
import { requestSnapshot } from "../snapshots.js";

class UnavailableError extends McicError {
  constructor(message: string, cause: unknown) {
    super("unavailable", message, 503, { cause });
  }
}

class ServerDisabledError extends McicError {
  constructor(name: string, reason: string) {
    super("server_disabled", `server "${name}" is disabled (${reason}); enable it with PUT first`, 409);
  }
}

/** Parses list entries written by dispatchers; one unreadable entry is skipped, not fatal. */
function parseEntries<T>(texts: string[], schema: z.ZodType<T>, key: string, logger: Logger) {
  const out: { text: string; value: T }[] = [];
  for (const text of texts) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) out.push({ text, value: parsed.data });
    else logger.warn({ key }, "skipping an unreadable list entry");
  }
  return out;
}

async function requireServer(registry: Registry, name: string): Promise<StoredServer> {
  const stored = await registry.getServer(name);
  if (!stored) throw new NotFoundError("server", name);
  return stored;
}

export function mountServerOpsRoutes(routes: ApiRoutes, deps: RouteDeps): void {
  const { registry, box, now, logger } = deps;
  const params = NameParams("server");
  const tag = "deliveries";

  routes.add({
    method: "get",
    path: "/api/v1/servers/{name}/deliveries",
    operationId: "listDeliveries",
    summary: "Recent delivery attempts to a server, newest first",
    description: `The dispatchers keep the latest attempts per server (up to 1000).`,
    tag,
    params,
    what: "server",
    query: DeliveriesQuery,
    responses: { 200: { description: "attempts, newest first", schema: DeliveryRecordView.array() } },
    handler: async (ctx, { params, query }) => {
      await requireServer(registry, params.name);
      const key = registry.keys.deliveries(params.name);
      // Unfiltered, read just what is shown; filtered, the whole (capped) log.
      const texts = await registry.redis.lrange(key, 0, query.outcome ? -1 : query.limit - 1);
      const records: DeliveryRecord[] = [];
      for (const { value } of parseEntries(texts, DeliveryRecordSchema, key, logger)) {
        if (query.outcome && value.outcome !== query.outcome) continue;
        records.push(value);
        if (records.length >= query.limit) break;
      }
      ctx.body = records;
    },
  });

  routes.add({
    method: "get",
    path: "/api/v1/servers/{name}/dead-letters",
    operationId: "listDeadLetters",
    summary: "Events that could not be delivered to a server, newest first",
    tag,
    params,
    what: "server",
    query: DeadLettersQuery,
    responses: {
      200: {
        description: "dead letters, newest first",
        schema: DeadLetterView.array(),
        headers: { "X-Total-Count": { description: "dead letters kept in all", schema: { type: "integer" } } },
      },
    },
    handler: async (ctx, { params, query }) => {
      await requireServer(registry, params.name);
      const key = registry.keys.deadLetters(params.name);
      const [texts, total] = await Promise.all([
        registry.redis.lrange(key, 0, query.limit - 1),
        registry.redis.llen(key),
      ]);
      ctx.set("X-Total-Count", String(total));
      ctx.body = parseEntries(texts, DeadLetterSchema, key, logger).map((e) => e.value);
    },
  });

  routes.add({
    method: "post",
    path: "/api/v1/servers/{name}/dead-letters/replay",
    operationId: "replayDeadLetters",
    summary: "Deliver dead letters again",
    description:
      "Each chosen dead letter is queued as a new first attempt in the server's durable delivery queue (message " +
      "id `replay/<id>`, so a repeated replay is not queued twice) and taken off the list. The dispatchers " +
      "deliver it through the normal path: retries, and a new dead letter if it fails again.",
    tag,
    params,
    what: "server",
    body: ReplayBody,
    bodyOptional: true,
    examples: REPLAY_EXAMPLES,
    responses: {
      202: { description: "queued", schema: ReplayResultSchema },
      503: { description: "NATS JetStream is unreachable; nothing was taken off the list that was not queued" },
    },
    handler: async (ctx, { params, body }) => {
      await requireServer(registry, params.name);
      const key = registry.keys.deadLetters(params.name);
      const entries = parseEntries(await registry.redis.lrange(key, 0, -1), DeadLetterSchema, key, logger);
      const chosen = chooseDeadLetters(entries, body.ids);
      const at = now().toISOString();
      const subject = deliverySubject(deps.prefix, params.name);
      const published: { text: string; ack: PubAck }[] = [];
      let failure: unknown;
      for (let i = 0; i < chosen.length && failure === undefined; i += 64) {
        const batch = chosen.slice(i, i + 64);
        const results = await Promise.allSettled(
          batch.map((e) => {
            const request: DeliveryRequest = {
              server: params.name,
              envelope: e.value.envelope,
              attempt: 1,
              firstAttemptAt: at,
              notBefore: at,
              reason: "replay",
            };
            return deps.js.publish(subject, JSON.stringify(request), { msgID: `replay/${e.value.id}` });
          }),
        );
        results.forEach((r, j) => {
          if (r.status === "fulfilled") published.push({ text: (batch[j] as { text: string }).text, ack: r.value });
          else failure ??= r.reason;
        });
      }
      // What reached the queue leaves the list even if a later publish failed.
      const queued = published.filter((p) => !p.ack.duplicate).length;
      const removed =
        published.length > 0
          ? await settleReplay(
              registry,
              params.name,
              published.map((p) => p.text),
              queued,
            )
          : 0;
      if (failure !== undefined) {
        throw new UnavailableError(
          `the delivery queue is unavailable: ${(failure as Error).message}; ${removed} of ${chosen.length} replayed`,
          failure,
        );
      }
      logger.info({ server: params.name, replayed: removed }, "dead letters replayed");
      ctx.status = 202;
      ctx.body = { replayed: removed };
    },
  });

  routes.add({
    method: "post",
    path: "/api/v1/servers/{name}/test",
    operationId: "testServer",
    summary: "Send one signed ping event to a server now",
    description:
      "Sends the CloudEvent `{type: dev.mcic.ping, source: /mcic, id: ping/<uuid>, subject: <server>, data: " +
      "{message}}`, signed with the server's secret and with its headers, and answers how it went. `ok: false` " +
      "is still a 200: the test ran. Nothing is recorded.",
    tag,
    params,
    what: "server",
    body: EmptyBody,
    bodyOptional: true,
    examples: { none: { summary: "no options", value: {} } },
    responses: { 200: { description: "the result of the attempt", schema: TestResultSchema } },
    handler: async (ctx, { params }) => {
      const stored = await requireServer(registry, params.name);
      const event: CloudEvent = {
        specversion: "1.0",
        id: `ping/${randomUUID()}`,
        source: "/mcic",
        type: "dev.mcic.ping",
        subject: params.name,
        time: now().toISOString(),
        datacontenttype: "application/json",
        data: { message: "ping from mcic" },
      };
      const result = await deps.sender.send(webhookTarget(stored, box), event);
      ctx.body = {
        ok: result.ok,
        status: result.status,
        durationMs: result.durationMs,
        ...(result.error ? { error: result.error } : {}),
      };
    },
  });

  routes.add({
    method: "post",
    path: "/api/v1/servers/{name}/resync",
    operationId: "resyncServer",
    summary: "Deliver the current state of every matching object to this server alone",
    description:
      "Asks every watcher (NATS request, replies collected for 500 ms) to list its clusters afresh and queue each " +
      "object matching the server's filters as an ADDED event with `snapshot: true`, for this server only. " +
      "`unowned` names registered clusters the filter allows that no watcher answered for (not watched right now).",
    tag,
    params,
    what: "server",
    body: EmptyBody,
    bodyOptional: true,
    examples: { none: { summary: "no options", value: {} } },
    responses: {
      202: { description: "snapshot requested", schema: ResyncResultSchema },
      409: { description: "the server is disabled" },
      503: { description: "NATS is unreachable" },
    },
    handler: async (ctx, { params }) => {
      const stored = await requireServer(registry, params.name);
      const disabledReason = await registry.redis.hget(registry.keys.serverStatus(params.name), "disabledReason");
      if (!stored.enabled || disabledReason) {
        throw new ServerDisabledError(params.name, disabledReason ?? "disabled by configuration");
      }
      let outcome: Awaited<ReturnType<typeof requestSnapshot>>;
      try {
        outcome = await requestSnapshot(deps.nats, {
          prefix: deps.prefix,
          server: params.name,
          waitMs: deps.snapshotWaitMs,
          logger,
        });
      } catch (err) {
        throw new UnavailableError(`NATS is unavailable: ${(err as Error).message}`, err);
      }
      const answered = new Set(outcome.replies.flatMap((r) => r.clusters));
      const wanted = stored.filters.clusters?.length ? new Set(stored.filters.clusters) : undefined;
      const registered = (await registry.redis.smembers(registry.keys.clusters)).sort();
      ctx.status = 202;
      ctx.body = {
        requestId: outcome.requestId,
        clusters: [...answered].sort(),
        unowned: registered.filter((c) => (!wanted || wanted.has(c)) && !answered.has(c)),
      };
    },
  });
}

/** The dead letters to replay: all, or those with the given ids (each must exist). */
function chooseDeadLetters(
  entries: { text: string; value: DeadLetter }[],
  ids: string[] | undefined,
): { text: string; value: DeadLetter }[] {
  if (!ids || ids.length === 0) return entries;
  const known = new Set(entries.map((e) => e.value.id));
  const errors = ids.flatMap((id, i) =>
    known.has(id) ? [] : [{ path: `ids.${i}`, message: `no dead letter "${id}"` }],
  );
  if (errors.length > 0) throw new ValidationError("unknown dead-letter ids", errors);
  const wanted = new Set(ids);
  return entries.filter((e) => wanted.has(e.value.id));
}
