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

/** What the WebhookSender needs to deliver to a stored server: its URL, HMAC key and headers, unsealed. */
export function openServer(server: StoredServer, box: SecretBox): WebhookTarget {
  let secret: string;
  try {
    secret = box.open(server.secret, sealContext.serverSecret(server.name));
  } catch (err) {
    throw new SealedServerError(server.name, err);
  }
  return { url: server.url, key: webhookKey(secret), headers: openServerHeaders(server, box) };
}
