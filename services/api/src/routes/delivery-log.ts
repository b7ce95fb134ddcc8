import {
  type DeadLetter,
  type DeliveryRecord,
  type DeliveryRequest,
  type ListedEntries,
  type Logger,
  ValidationError,
  deliverySubject,
  redactEnvelope,
} from "@mcic/core";
import type { RouteDeps } from "../route-deps.js";
import { UnavailableError, requireServer } from "../route-parts.js";
import type { ApiRoutes } from "../routing.js";
import { oldestFirst } from "../replay-order.js";
import { NameParams } from "../schemas.js";
import {
  DeadLetterView,
  DeadLettersQuery,
  DeliveriesQuery,
  DeliveryRecordView,
  REPLAY_EXAMPLES,
  ReplayBody,
  ReplayResultSchema,
} from "../server-ops-schemas.js";

/** The readable entries of a list dispatchers write; unreadable ones are logged and skipped. */
function readable<T>(listed: ListedEntries<T>, server: string, logger: Logger): { text: string; value: T }[] {
  if (listed.unreadable > 0) {
    logger.warn({ server, unreadable: listed.unreadable }, "skipping an unreadable list entry");
  }
  return listed.entries;
}

/** What the dispatchers recorded for a server: recent attempts, dead letters, and their replay. */
export function mountDeliveryLogRoutes(routes: ApiRoutes, deps: RouteDeps): void {
  const { registry, now, logger } = deps;
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
      // Unfiltered, read just what is shown; filtered, the whole (capped) log.
      const listed = await registry.listDeliveries(params.name, query.outcome ? undefined : query.limit);
      const records: DeliveryRecord[] = [];
      for (const { value } of readable(listed, params.name, logger)) {
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
      const stored = await requireServer(registry, params.name);
      const [listed, total] = await Promise.all([
        registry.listDeadLetters(params.name, query.limit),
        registry.countDeadLetters(params.name),
      ]);
      ctx.set("X-Total-Count", String(total));
      // Sealed Secret values stay sealed: only dispatchers open them, and only to deliver.
      const shown = { includeSecretData: stored.includeSecretData };
      ctx.body = readable(listed, params.name, logger).map((e) => ({
        ...e.value,
        envelope: redactEnvelope(e.value.envelope, shown),
      }));
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
      "deliver it through the normal path: retries, and a new dead letter if it fails again. Replays never go back " +
      "in time: they are queued oldest first (each object's versions in resourceVersion order), and a version older " +
      "than one the server already received is recorded `superseded` in the delivery log instead of being sent.",
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
      const entries = readable(await registry.listDeadLetters(params.name), params.name, logger);
      const chosen = oldestFirst(chooseDeadLetters(entries, body.ids));
      const at = now().toISOString();
      const subject = deliverySubject(deps.prefix, params.name);
      const published: string[] = [];
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
          if (r.status === "fulfilled") published.push((batch[j] as { text: string }).text);
          else failure ??= r.reason;
        });
      }
      // What reached the queue leaves the list even if a later publish failed.
      const removed = published.length > 0 ? await registry.settleReplay(params.name, published) : 0;
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
