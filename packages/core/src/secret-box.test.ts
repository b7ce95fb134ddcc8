import { createCipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SecretBox, sealContext } from "./secret-box.js";

const ctx = sealContext.serverSecret("lb-1");

/** A value as mcic sealed it before values were bound to their record. */
function sealV1(key: Buffer, text: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(text, "utf8"), cipher.final()]);
  return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
}

describe("SecretBox", () => {
  const key = randomBytes(32);
  const box = new SecretBox(key);

  it.each(["token-abc", "", "ünïcødé ✓ 🔑", "x".repeat(100_000)])("opens what it sealed (%#)", (text) => {
    const sealed = box.seal(text, ctx);
    expect(sealed.startsWith("v2:")).toBe(true);
    expect(box.open(sealed, ctx)).toBe(text);
  });

  it("does not reveal the plaintext", () => {
    const sealed = box.seal('{"token":"very-secret-token"}', ctx);
    expect(sealed).not.toContain("very-secret-token");
    expect(Buffer.from(sealed.slice(3), "base64").toString("latin1")).not.toContain("very-secret-token");
  });

  it("seals the same text differently each time", () => {
    const a = box.seal("same text", ctx);
    const b = box.seal("same text", ctx);
    expect(a).not.toBe(b);
    expect(box.open(a, ctx)).toBe("same text");
    expect(box.open(b, ctx)).toBe("same text");
  });

  it("never uses an IV twice, across refills of its pool of random bytes", () => {
    const sealed = Array.from({ length: 2_000 }, (_, i) => box.seal(`value ${i}`, ctx));
    const ivs = new Set(sealed.map((s) => Buffer.from(s.slice(3), "base64").subarray(0, 12).toString("hex")));
    expect(ivs.size).toBe(2_000);
    expect(sealed.map((s) => box.open(s, ctx))).toEqual(Array.from({ length: 2_000 }, (_, i) => `value ${i}`));
  });

  it("binds a value to its record: another cluster's or server's context does not open it", () => {
    const credentials = box.seal('{"token":"t"}', sealContext.clusterCredentials("prod"));
    expect(() => box.open(credentials, sealContext.clusterCredentials("lab"))).toThrow();
    expect(() => box.open(box.seal("whsec_x", ctx), sealContext.serverSecret("lb-2"))).toThrow();
    expect(() => box.open(box.seal("{}", ctx), sealContext.serverHeaders("lb-1"))).toThrow();
  });

  it("refuses to open with another key", () => {
    const sealed = box.seal("secret", ctx);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, ctx)).toThrow();
  });

  it("opens values of the previous key during a rotation, seals only with the new one", () => {
    const next = new SecretBox(randomBytes(32), key);
    const old = box.seal("old value", ctx);
    expect(next.open(old, ctx)).toBe("old value");
    expect(next.isCurrent(old, ctx)).toBe(false);
    const fresh = next.seal("new value", ctx);
    expect(next.isCurrent(fresh, ctx)).toBe(true);
    // The old key alone cannot open what the new one sealed.
    expect(() => box.open(fresh, ctx)).toThrow();
  });

  it("still opens unbound v1 values (until re-sealed) and reports them as not current", () => {
    const legacy = sealV1(key, "legacy token");
    expect(box.open(legacy, ctx)).toBe("legacy token");
    expect(box.isCurrent(legacy, ctx)).toBe(false);
    expect(new SecretBox(randomBytes(32), key).open(legacy, ctx)).toBe("legacy token");
  });

  it("refuses a tampered value", () => {
    const sealed = box.seal("pay 10 to alice", ctx);
    const raw = Buffer.from(sealed.slice(3), "base64");
    const last = raw.length - 1;
    raw[last] = (raw[last] as number) ^ 0x01;
    expect(() => box.open(`v2:${raw.toString("base64")}`, ctx)).toThrow();
  });

  it("refuses a tampered authentication tag", () => {
    const sealed = box.seal("x", ctx);
    const raw = Buffer.from(sealed.slice(3), "base64");
    raw[12] = (raw[12] as number) ^ 0x80;
    expect(() => box.open(`v2:${raw.toString("base64")}`, ctx)).toThrow();
  });

  it.each(["plaintext", "v3:AAAA", "v2:", "v1:", ""])("refuses %j as an unknown format", (text) => {
    expect(() => box.open(text, ctx)).toThrow(/unknown format/);
  });

  it("refuses a truncated value (a short tag included)", () => {
    expect(() => box.open(box.seal("hello", ctx).slice(0, 20), ctx)).toThrow();
  });

  it.each([16, 31, 33, 0])("requires a 32-byte key (got %d)", (n) => {
    expect(() => new SecretBox(Buffer.alloc(n))).toThrow(/32 bytes/);
    expect(() => new SecretBox(randomBytes(32), Buffer.alloc(n))).toThrow(/32 bytes/);
  });
});
