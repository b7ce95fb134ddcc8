import { describe, expect, it } from "vitest";
import { matchesLabels, parseLabelSelector } from "./label-selector.js";

describe("label selectors", () => {
  const labels = { app: "web", tier: "front", "example.com/team": "a" };
  it.each([
    ["app=web", true],
    ["app==web", true],
    ["app!=web", false],
    ["app in (web,api)", true],
    ["app notin (web)", false],
    ["tier,app=web", true],
    ["!missing", true],
    ["missing", false],
    ["example.com/team=a,app in (x, web)", true],
    ["", true],
  ])("%s -> %s", (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });
  it.each(["app=", "=web", "app in web", "app=a b", "a,,b"])("rejects or handles %s", (bad) => {
    // "app=" is valid (empty value) in Kubernetes; the others are syntax errors.
    if (bad === "app=") expect(parseLabelSelector(bad)).toEqual([{ key: "app", op: "=", value: "" }]);
    else expect(() => parseLabelSelector(bad)).toThrow();
  });
});
