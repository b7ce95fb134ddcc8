import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SecretBox } from "./secret-box.js";

describe("SecretBox", () => {
  const box = new SecretBox(randomBytes(32));

  it.each(["token-abc", "", "ünïcødé ✓ 🔑", "x".repeat(100_000)])("opens what it sealed (%#)", (text) => {
    const sealed = box.seal(text);
    expect(sealed.startsWith("v1:")).toBe(true);
    expect(box.open(sealed)).toBe(text);
  });

  it("does not reveal the plaintext", () => {
    const sealed = box.seal('{"token":"very-secret-token"}');
    expect(sealed).not.toContain("very-secret-token");
    expect(Buffer.from(sealed.slice(3), "base64").toString("latin1")).not.toContain("very-secret-token");
  });

  it("seals the same text differently each time", () => {
    const a = box.seal("same text");
    const b = box.seal("same text");
    expect(a).not.toBe(b);
    expect(box.open(a)).toBe("same text");
    expect(box.open(b)).toBe("same text");
  });

  it("refuses to open with another key", () => {
    const sealed = box.seal("secret");
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
  });

  it("refuses a tampered value", () => {
    const sealed = box.seal("pay 10 to alice");
    const raw = Buffer.from(sealed.slice(3), "base64");
    const last = raw.length - 1;
    raw[last] = (raw[last] as number) ^ 0x01;
    expect(() => box.open(`v1:${raw.toString("base64")}`)).toThrow();
  });

  it("refuses a tampered authentication tag", () => {
    const sealed = box.seal("x");
    const raw = Buffer.from(sealed.slice(3), "base64");
    raw[12] = (raw[12] as number) ^ 0x80;
    expect(() => box.open(`v1:${raw.toString("base64")}`)).toThrow();
  });

  it.each(["plaintext", "v2:AAAA", "v1:", ""])("refuses %j as an unknown format", (text) => {
    expect(() => box.open(text)).toThrow(/unknown format/);
  });

  it("refuses a truncated value", () => {
    expect(() => box.open(box.seal("hello").slice(0, 20))).toThrow();
  });

  it.each([16, 31, 33, 0])("requires a 32-byte key (got %d)", (n) => {
    expect(() => new SecretBox(Buffer.alloc(n))).toThrow(/32 bytes/);
  });
});
