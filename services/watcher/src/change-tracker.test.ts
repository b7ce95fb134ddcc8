import type { EventType, KubeObject } from "@mcic/core";
import { describe, expect, it } from "vitest";
import { ChangeTracker } from "./change-tracker.js";
import type { KnownObject } from "./resume-store.js";

const version = (rv: string, spec: unknown, status: unknown): KubeObject =>
  ({ metadata: { uid: "u1", name: "web", namespace: "shop", resourceVersion: rv }, spec, status }) as KubeObject;

describe("ChangeTracker", () => {
  it("diffs each MODIFIED against the version published before it, stored or still in flight", () => {
    const known = new Map<string, KnownObject>();
    const t = new ChangeTracker(known);
    const added = t.observe("ADDED", version("1", { a: 1 }, {}), "Ingress");
    expect(added.changedPaths).toBeUndefined();
    expect(added.known).toMatchObject({ rv: "1", namespace: "shop", name: "web", kind: "Ingress" });
    // Not stored yet: the next MODIFIED is still compared with it.
    expect(t.observe("MODIFIED", version("2", { a: 1 }, { ok: true }), "Ingress").changedPaths).toEqual(["status"]);
    const third = t.observe("MODIFIED", version("3", { a: 2 }, { ok: true }), "Ingress");
    expect(third.changedPaths).toEqual(["spec"]);
    const stored = (type: EventType, k: KnownObject | undefined) => {
      if (k) known.set("u1", k);
      t.stored("u1", type === "DELETED" ? undefined : k?.sections);
    };
    stored("MODIFIED", third.known);
    expect(t.observe("MODIFIED", version("4", { a: 2 }, { ok: false }), "Ingress").changedPaths).toEqual(["status"]);
    expect(t.observe("DELETED", version("5", { a: 2 }, { ok: false }), "Ingress")).toEqual({ known: undefined });
  });

  it("after a failure compares with what is stored, and without stored hashes reports nothing (fail open)", () => {
    const stored = version("1", { a: 1 }, {});
    const known = new Map<string, KnownObject>();
    const t = new ChangeTracker(known);
    const first = t.observe("ADDED", stored, "Ingress");
    if (first.known) known.set("u1", first.known);
    t.observe("MODIFIED", version("2", { a: 2 }, {}), "Ingress");
    t.reset();
    // The watch replays from what is stored: version 2 again, against version 1.
    expect(t.observe("MODIFIED", version("2", { a: 2 }, {}), "Ingress").changedPaths).toEqual(["spec"]);

    const old = new ChangeTracker(new Map([["u1", { rv: "1", namespace: "shop", name: "web", kind: "Ingress" }]]));
    const change = old.observe("MODIFIED", version("2", { a: 2 }, {}), "Ingress");
    expect(change.changedPaths).toBeUndefined();
    expect(change.known?.sections).toBeTruthy();
  });
});
