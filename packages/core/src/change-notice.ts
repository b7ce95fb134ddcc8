import type { Redis } from "ioredis";
import { z } from "zod";
import type { Logger } from "./logger.js";
import { redisReady } from "./redis.js";

/** What the API announces on `<prefix>:changed` after every committed write. */
export const ChangeNoticeSchema = z.object({
  kind: z.enum(["cluster", "server"]),
  name: z.string(),
  op: z.enum(["created", "updated", "deleted"]),
});
export type ChangeNotice = z.infer<typeof ChangeNoticeSchema>;

/**
 * The text published for a notice: validated first, so no writer can announce something followers
 * would drop as malformed, and written in the schema's key order.
 */
export function encodeChangeNotice(notice: ChangeNotice): string {
  return JSON.stringify(ChangeNoticeSchema.parse(notice));
}

/** Announces a change on the channel (`RedisKeys.changes`). */
export async function publishChangeNotice(redis: Redis, channel: string, notice: ChangeNotice): Promise<void> {
  await redis.publish(channel, encodeChangeNotice(notice));
}

/** Parses a notice from the channel; undefined for anything else (the caller logs it). */
export function parseChangeNotice(text: string): ChangeNotice | undefined {
  try {
    const result = ChangeNoticeSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Subscribes a dedicated connection to the change channel: `onNotice` for every well-formed
 * notice, `onReconnect` after the connection came back (notices may have been missed meanwhile).
 */
export async function followChanges(
  subscriber: Redis,
  channel: string,
  logger: Logger,
  handlers: { onNotice: (notice: ChangeNotice) => void; onReconnect: () => void },
): Promise<void> {
  subscriber.on("message", (from: string, text: string) => {
    if (from !== channel) return;
    const notice = parseChangeNotice(text);
    if (notice) handlers.onNotice(notice);
    else logger.warn({ channel }, "ignoring malformed change notice");
  });
  subscriber.on("ready", handlers.onReconnect);
  await redisReady(subscriber);
  await subscriber.subscribe(channel);
}

/**
 * Wraps a task so that it never runs twice at once: a call during a run asks for exactly one more
 * run after it, and resolves when that one is done. Failures go to `onError`, never to callers.
 */
export function coalesced(task: () => Promise<void>, onError: (err: unknown) => void): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await task();
        } catch (err) {
          onError(err);
        }
      } while (again);
      running = undefined;
    })();
    return running;
  };
}
