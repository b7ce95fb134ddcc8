import { type SecretBox, SealedServerError, type StoredServer, sealContext } from "@mcic/core";

export interface RotationRequest {
  /** The new signing secret (`whsec_…`). */
  secret: string;
  /** How long the replaced secret keeps signing too; 0 ends it at once. */
  graceSeconds: number;
  now: Date;
}

/**
 * The server signing with a new secret while the one it replaces keeps signing until the grace
 * ends. Only two secrets ever sign: a secret still in its overlap from an earlier rotation is
 * dropped, since its receivers had that rotation's whole grace to move on.
 */
export function rotateSecret(current: StoredServer, box: SecretBox, request: RotationRequest): StoredServer {
  const { previousSecret: _dropped, previousExpiresAt: _droppedAt, ...rest } = current;
  const next: StoredServer = {
    ...rest,
    secret: box.seal(request.secret, sealContext.serverSecret(current.name)),
    updatedAt: request.now.toISOString(),
  };
  if (request.graceSeconds > 0) {
    let replaced: string;
    try {
      replaced = box.open(current.secret, sealContext.serverSecret(current.name));
    } catch (err) {
      throw new SealedServerError(current.name, err);
    }
    // Sealed anew: a sealed value is bound to its field and would not open as the previous secret.
    next.previousSecret = box.seal(replaced, sealContext.serverPreviousSecret(current.name));
    next.previousExpiresAt = previousExpiry(request);
  }
  return next;
}

/** When the replaced secret stops signing. */
export function previousExpiry(request: Pick<RotationRequest, "graceSeconds" | "now">): string {
  return new Date(request.now.getTime() + request.graceSeconds * 1000).toISOString();
}
