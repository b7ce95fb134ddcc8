import { randomUUID } from "node:crypto";
import {
  type AttemptResult,
  type CloudEvent,
  type DeadLetter,
  type DeliveryRecord,
  type DeliveryRequest,
  type ListedEntries,
  type Logger,
  McicError,
  ValidationError,
  deliverySubject,
  generateWebhookSecret,
  inactiveReason,
  openServer,
  redactEnvelope,
} from "@mcic/core";
import type { PubAck } from "@nats-io/jetstream";
import type { RouteDeps } from "../route-deps.js";
import { NO_OPTIONS, requireServer } from "../route-parts.js";
import type { ApiRoutes } from "../routing.js";
import {
  DeadLetterView,
  DeadLettersQuery,
  DeliveriesQuery,
  DeliveryRecordView,
  NameParams,
  REPLAY_EXAMPLES,
  ReplayBody,
  ROTATE_SECRET_EXAMPLES,
  ReplayResultSchema,
  ResyncResultSchema,
  RotateSecretBody,
  RotateSecretResultSchema,
  TestResultSchema,
} from "../schemas.js";
import { previousExpiry, rotateSecret } from "../secret-rotation.js";
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

/** The readable entries of a list dispatchers write; unreadable ones are logged and skipped. */
function readable<T>(listed: ListedEntries<T>, server: string, logger: Logger): { text: string; value: T }[] {
  if (listed.unreadable > 0) {
    logger.warn({ server, unreadable: listed.unreadable }, "skipping an unreadable list entry");
  }
  return listed.entries;
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
      const entries = readable(await registry.listDeadLetters(params.name), params.name, logger);
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
          ? await registry.settleReplay(
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
      "is still a 200: the test ran. `error` says why in a few fixed words (`HTTP 503`, `timeout`, `connection " +
      "refused`, `tls error`, `egress denied`, ...), never what the server answered. Nothing is recorded.",
    tag,
    params,
    what: "server",
    ...NO_OPTIONS,
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
      // openServer includes the previous secret during a rotation's overlap: the ping signs like deliveries.
      const result = await deps.sender.send(openServer(stored, box, now().getTime()), event);
      ctx.body = {
        ok: result.ok,
        status: result.status,
        durationMs: result.durationMs,
        ...(result.ok ? {} : { error: testError(result) }),
      };
    },
  });

  routes.add({
    method: "post",
    path: "/api/v1/servers/{name}/rotate-secret",
    operationId: "rotateServerSecret",
    summary: "Replace a server's signing secret, with an overlap",
    description:
      "Stores a new secret (the one given, or a generated one) and keeps the current one signing too for " +
      "`graceSeconds` (default 86400, at most 2592000): deliveries and test pings then carry `webhook-signature: " +
      "v1,<new> v1,<old>`. Update the receiver to the new secret within the grace. The old secret is never shown.",
    tag: "servers",
    params,
    what: "server",
    body: RotateSecretBody,
    bodyOptional: true,
    examples: ROTATE_SECRET_EXAMPLES,
    responses: {
      200: { description: "rotated; the new `secret` is shown here and never again", schema: RotateSecretResultSchema },
    },
    handler: async (ctx, { params, body }) => {
      const secret = body.secret ?? generateWebhookSecret();
      const at = now();
      await registry.updateServer(params.name, (current) =>
        rotateSecret(current, box, { secret, graceSeconds: body.graceSeconds, now: at }),
      );
      logger.info({ server: params.name, graceSeconds: body.graceSeconds }, "server secret rotated");
      ctx.body = { secret, previousExpiresAt: previousExpiry({ graceSeconds: body.graceSeconds, now: at }) };
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
    ...NO_OPTIONS,
    responses: {
      202: { description: "snapshot requested", schema: ResyncResultSchema },
      409: { description: "the server is disabled" },
      503: { description: "NATS is unreachable" },
    },
    handler: async (ctx, { params }) => {
      const stored = await requireServer(registry, params.name);
      const inactive = inactiveReason(stored, await registry.serverStatus(params.name));
      if (inactive) throw new ServerDisabledError(params.name, inactive);
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
      const registered = await registry.clusterNames();
      ctx.status = 202;
      ctx.body = {
        requestId: outcome.requestId,
        clusters: [...answered].sort(),
        unowned: registered.filter((c) => (!wanted || wanted.has(c)) && !answered.has(c)),
      };
    },
  });
}

/**
 * Why a test ping failed, in a few fixed words. Never the peer's text or the socket's message:
 * whoever may register a URL could otherwise use the test to read what hosts inside the network say.
 */
function testError(result: AttemptResult): string {
  if (result.status !== 0) return `HTTP ${result.status}`;
  return result.errorClass ?? "connection error";
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
