import { describe, expect, it } from "vitest";
import { compileNameGlobs, globMatches } from "./name-glob.js";

describe("name globs", () => {
  it.each([
    ["web-*", "web-front", true],
    ["web-*", "web-", true],
    ["web-*", "my-web-front", false],
    ["*-canary", "api-canary", true],
    ["*-canary", "api-canary-2", false],
    ["api-?", "api-1", true],
    ["api-?", "api-12", false],
    ["a*b*c", "aXXbYYc", true],
    ["a*b*c", "aXXcYYb", false],
    ["*", "anything", true],
    ["front", "front", true],
    ["front", "frontend", false],
    ["f.o", "fxo", false],
  ])("%s on %s: %s", (glob, name, expected) => {
    expect(compileNameGlobs([glob])?.(name)).toBe(expected);
    expect(globMatches(glob.replace(/\*+/g, "*"), name)).toBe(expected);
  });

  it("match when any pattern matches; no patterns is no filter", () => {
    const match = compileNameGlobs(["front", "api-*"]);
    expect(match?.("front")).toBe(true);
    expect(match?.("api-v2")).toBe(true);
    expect(match?.("back")).toBe(false);
    expect(compileNameGlobs([])).toBeUndefined();
    expect(compileNameGlobs(undefined)).toBeUndefined();
  });

  it("stay fast on patterns that would make a backtracking regex explode", () => {
    const glob = `${"*a".repeat(60)}*b`;
    const name = "a".repeat(253);
    // A RegExp of this pattern does not finish in any useful time; the walk is quadratic at most.
    expect(compileNameGlobs([glob])?.(name)).toBe(false);
  });
});
