import { describe, expect, it } from "vitest";
import { apiPrefix, formatResource, parseResource } from "./resource.js";

describe("parseResource", () => {
  it.each([
    ["ingresses", { group: "networking.k8s.io", version: "v1", resource: "ingresses" }],
    ["services", { group: "", version: "v1", resource: "services" }],
    ["deployments", { group: "apps", version: "v1", resource: "deployments" }],
    ["v1/services", { group: "", version: "v1", resource: "services" }],
    ["networking.k8s.io/v1/ingresses", { group: "networking.k8s.io", version: "v1", resource: "ingresses" }],
    ["stable.example.com/v1/widgets", { group: "stable.example.com", version: "v1", resource: "widgets" }],
    ["example.com/v2beta1/foo-bars", { group: "example.com", version: "v2beta1", resource: "foo-bars" }],
    ["core/v1/pods", { group: "", version: "v1", resource: "pods" }],
  ])("%s", (text, expected) => {
    expect(parseResource(text)).toEqual(expected);
  });

  it.each([
    ["widgets", /unknown resource "widgets".*group\/version\/resource/],
    ["a/b/c/d", /too many parts/],
    ["Bad/v1/x", /"Bad" is not a valid API group/],
    ["x.io/1/y", /"1" is not a valid API version/],
    ["apps/v1", /"apps" is not a valid API version/],
    ["x.io/v1/Widgets", /"Widgets" is not a valid plural resource name/],
    ["x.io/v1/", /"" is not a valid plural resource name/],
  ])("rejects %s", (text, reason) => {
    expect(() => parseResource(text)).toThrow(reason);
  });

  it("rejects names of Object.prototype members, which are no well-known resources", () => {
    // A bare name is looked up in a table of well-known plurals; "constructor" or "toString" must
    // not count as entries (they would come back as { resource } with no group or version).
    for (const text of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      expect(() => parseResource(text), text).toThrow(/unknown resource/);
    }
  });
});

describe("formatResource", () => {
  it.each([
    ["ingresses", "networking.k8s.io/v1/ingresses"],
    ["services", "v1/services"],
    ["core/v1/pods", "v1/pods"],
    ["v1/configmaps", "v1/configmaps"],
    ["stable.example.com/v1/widgets", "stable.example.com/v1/widgets"],
  ])("%s -> %s", (text, canonical) => {
    expect(formatResource(parseResource(text))).toBe(canonical);
  });

  it.each(["networking.k8s.io/v1/ingresses", "v1/services", "stable.example.com/v1alpha1/widgets"])(
    "round-trips %s",
    (canonical) => {
      const ref = parseResource(canonical);
      expect(formatResource(ref)).toBe(canonical);
      expect(parseResource(formatResource(ref))).toEqual(ref);
    },
  );
});

describe("apiPrefix", () => {
  it("uses /api for the core group and /apis/<group> for the others", () => {
    expect(apiPrefix({ group: "", version: "v1" })).toBe("/api/v1");
    expect(apiPrefix({ group: "networking.k8s.io", version: "v1" })).toBe("/apis/networking.k8s.io/v1");
    expect(apiPrefix(parseResource("core/v1/pods"))).toBe("/api/v1");
    expect(apiPrefix(parseResource("stable.example.com/v1/widgets"))).toBe("/apis/stable.example.com/v1");
  });
});
