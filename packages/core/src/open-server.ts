import { z } from "zod";
import { McicError } from "./errors.js";
import type { StoredServer } from "./models.js";
import { type SecretBox, sealContext } from "./secret-box.js";
import type { WebhookTarget } from "./webhook-sender.js";
import { webhookKey } from "./webhook.js";

const HeadersSchema = z.record(z.string(), z.string());

/** A stored server whose sealed secret or headers cannot be opened (wrong MCIC_SECRET_KEY, tampering). */
export class SealedServerError extends McicError {
  readonly server: string;
  constructor(server: string, cause: unknown) {
    super(
      "sealed_server",
      `cannot open the sealed secret or headers of server "${server}": ${(cause as Error).message}`,
      500,
      { cause },
    );
    this.server = server;
  }
}

/** The extra headers a stored server asked for, unsealed. */
export function openServerHeaders(server: StoredServer, box: SecretBox): Record<string, string> {
  try {
    return HeadersSchema.parse(JSON.parse(box.open(server.headers, sealContext.serverHeaders(server.name))));
  } catch (err) {
    throw new SealedServerError(server.name, err);
  }
}

/**
 * What the WebhookSender needs to deliver to a stored server: its URL, HMAC key and headers,
 * unsealed; during a secret rotation's overlap (`nowMs` before `previousExpiresAt`) also the
 * previous secret's key, so deliveries carry both signatures.
 */
export function openServer(server: StoredServer, box: SecretBox, nowMs: number = Date.now()): WebhookTarget {
  const target: WebhookTarget = {
    url: server.url,
    key: webhookKey(openSealed(server, box, server.secret, sealContext.serverSecret(server.name))),
    headers: openServerHeaders(server, box),
  };
  const expiresAt = server.previousExpiresAt === undefined ? Number.NaN : Date.parse(server.previousExpiresAt);
  if (server.previousSecret !== undefined && nowMs < expiresAt) {
    const previous = openSealed(server, box, server.previousSecret, sealContext.serverPreviousSecret(server.name));
    target.previous = { key: webhookKey(previous), expiresAt };
  }
  return target;
}

function openSealed(server: StoredServer, box: SecretBox, sealed: string, context: string): string {
  try {
    return box.open(sealed, context);
  } catch (err) {
    throw new SealedServerError(server.name, err);
  }
}
