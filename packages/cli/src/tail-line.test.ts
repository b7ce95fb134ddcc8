import { describe, expect, it } from "vitest";
import { tailLine } from "./tail-line.js";

const base = {
  id: "east/u1/42/ADDED",
  cluster: "east",
  resource: "ingresses",
  namespace: "shop",
  name: "web",
  resourceVersion: "42",
  type: "ADDED",
  observedAt: "2026-12-02T12:34:56.789Z",
};

describe("tail lines", () => {
  it("time, cluster, TYPE, resource, namespace/name, resourceVersion; snapshot events say so", () => {
    expect(tailLine(base)).toMatch(/^12:34:56 {2}east\s+ADDED\s+ingresses\s+shop\/web\s+42\n$/);
    expect(tailLine({ ...base, namespace: undefined, name: "node-1", snapshot: true })).toMatch(
      /\s+node-1\s+42 {2}\(snapshot\)\n$/,
    );
  });

  it("a hostile object name cannot send escape sequences or break the line", () => {
    const line = tailLine({ ...base, name: "web\u001b]0;owned\u0007\nFAKE 00:00:00 line" });
    expect(line.split("\n")).toHaveLength(2);
    expect(line).not.toContain("\u001b");
    expect(line).toContain("shop/web?]0;owned??FAKE 00:00:00 line");
  });
});
