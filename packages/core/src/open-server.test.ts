import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { StoredServer } from "./models.js";
import { SealedServerError, openServer, openServerHeaders } from "./open-server.js";
import { SecretBox, sealContext } from "./secret-box.js";
import { generateWebhookSecret, webhookKey } from "./webhook.js";

const box = new SecretBox(randomBytes(32));
const secret = generateWebhookSecret();

function stored(overrides: Partial<StoredServer> = {}): StoredServer {
  return {
    name: "lb-1",
    url: "https://lb.example.com/hook",
    filters: {},
    headers: box.seal(JSON.stringify({ "X-Api-Key": "k-123" }), sealContext.serverHeaders("lb-1")),
    secret: box.seal(secret, sealContext.serverSecret("lb-1")),
    includeSecretData: false,
    snapshot: true,
    enabled: true,
    payload: "full",
    includeManagedFields: false,
    disableAfterSeconds: 432_000,
    retry: {},
    createdAt: "2024-05-01T12:00:00.000Z",
    updatedAt: "2024-05-01T12:00:00.000Z",
    ...overrides,
  };
}

describe("openServer", () => {
  it("gives the sender the URL, the HMAC key of the secret and the headers, unsealed", () => {
    expect(openServer(stored(), box)).toEqual({
      url: "https://lb.example.com/hook",
      key: webhookKey(secret),
      headers: { "X-Api-Key": "k-123" },
    });
  });

  it("refuses a server sealed under another key, naming the server", () => {
    const other = new SecretBox(randomBytes(32));
    const err = (() => {
      try {
        openServer(stored(), other);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SealedServerError);
    expect((err as SealedServerError).code).toBe("sealed_server");
    expect((err as SealedServerError).message).toContain('"lb-1"');
  });

  it("refuses sealed headers that are not a map of strings", () => {
    const bad = stored({ headers: box.seal(JSON.stringify({ "X-Count": 3 }), sealContext.serverHeaders("lb-1")) });
    expect(() => openServer(bad, box)).toThrow(SealedServerError);
    expect(() =>
      openServerHeaders(stored({ headers: box.seal("not json", sealContext.serverHeaders("lb-1")) }), box),
    ).toThrow(SealedServerError);
  });

  describe("during a secret rotation", () => {
    const oldSecret = generateWebhookSecret();
    const rotated = stored({
      previousSecret: box.seal(oldSecret, sealContext.serverPreviousSecret("lb-1")),
      previousExpiresAt: "2024-05-02T12:00:00.000Z",
    });
    const expiresAt = Date.parse("2024-05-02T12:00:00.000Z");

    it("signs with the new and the previous secret until the previous expires", () => {
      expect(openServer(rotated, box, expiresAt - 1)).toEqual({
        url: "https://lb.example.com/hook",
        key: webhookKey(secret),
        previous: { key: webhookKey(oldSecret), expiresAt },
        headers: { "X-Api-Key": "k-123" },
      });
    });

    it("signs with the new secret alone once the previous expired", () => {
      expect(openServer(rotated, box, expiresAt).previous).toBeUndefined();
      expect(openServer(rotated, box, expiresAt + 60_000).key).toEqual(webhookKey(secret));
    });

    it("refuses a previous secret sealed for another context", () => {
      const swapped = stored({
        previousSecret: box.seal(oldSecret, sealContext.serverSecret("lb-1")),
        previousExpiresAt: "2024-05-02T12:00:00.000Z",
      });
      expect(() => openServer(swapped, box, expiresAt - 1)).toThrow(SealedServerError);
    });
  });
});
