import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody, send } from "./http.js";
import type { ReceiverCore, ReceiverResponse } from "./receiver.js";

/** The parts of a Koa context the adapter uses (no dependency on koa). */
export interface KoaLikeContext {
  req: IncomingMessage;
  method: string;
  request: { rawBody?: string | Buffer; body?: unknown };
  status: number;
  body: unknown;
  set(field: string, value: string): void;
}

/** The parts of an Express request the adapter uses (no dependency on express). */
export type ExpressLikeRequest = IncomingMessage & { body?: unknown };

const RAW_BODY_NEEDED =
  "@mcic/receiver needs the raw request body to verify its signature: mount it before a JSON body " +
  "parser, or use express.raw({ type: '*/*' }) / keep koa-bodyparser's rawBody";

/** The raw body some middleware already read, or undefined when the stream is still unread. */
function preRead(raw: unknown, stream: IncomingMessage): Buffer | undefined {
  if (Buffer.isBuffer(raw)) return raw;
  if (typeof raw === "string") return Buffer.from(raw, "utf8");
  if (stream.readableEnded || stream.complete) throw new Error(RAW_BODY_NEEDED);
  return undefined;
}

export function koaAdapter(core: ReceiverCore) {
  return async (ctx: KoaLikeContext, _next?: () => Promise<unknown>): Promise<void> => {
    const body = preRead(ctx.request.rawBody, ctx.req) ?? (await readBody(ctx.req, core.maxBodyBytes));
    const answer: ReceiverResponse = await core.handle({ method: ctx.method, headers: ctx.req.headers, body });
    ctx.status = answer.status;
    for (const [k, v] of Object.entries(answer.headers)) ctx.set(k, v);
    ctx.body = answer.body;
  };
}

export function expressAdapter(core: ReceiverCore) {
  return (req: ExpressLikeRequest, res: ServerResponse, next: (err?: unknown) => void): void => {
    (async () => {
      const body = preRead(req.body, req) ?? (await readBody(req, core.maxBodyBytes));
      send(res, await core.handle({ method: req.method, headers: req.headers, body }));
    })().catch(next);
  };
}
