import type { KubeObject } from "@mcic/core";
import { describe, expect, it } from "vitest";
import { relistChanges } from "./relist-changes.js";
import type { KnownObject } from "./resume-store.js";

const obj = (uid: string, rv: string, name: string): KubeObject => ({
  metadata: { uid, resourceVersion: rv, name, namespace: "shop" },
});

describe("relistChanges", () => {
  it("calls new objects added, changed ones modified, missing ones deleted, and skips the unchanged", () => {
    const listed = new Map([
      ["u1", obj("u1", "5", "same")],
      ["u2", obj("u2", "9", "changed")],
      ["u3", obj("u3", "7", "new")],
    ]);
    const known = new Map<string, KnownObject>([
      ["u1", { rv: "5", namespace: "shop", name: "same", kind: "Ingress" }],
      ["u2", { rv: "8", namespace: "shop", name: "changed", kind: "Ingress" }],
      ["u4", { rv: "3", name: "gone", kind: "Node" }],
    ]);
    const changes = [...relistChanges(listed, known, "Ingress")];
    expect(changes.map((c) => `${c.type} ${c.object.metadata.name} ${c.kind}`)).toEqual([
      "MODIFIED changed Ingress",
      "ADDED new Ingress",
      "DELETED gone Node",
    ]);
    // List items lack their kind; the deletion carries what was last known of the object.
    expect(changes[0]?.object.kind).toBe("Ingress");
    expect(changes[2]?.object).toEqual({ metadata: { uid: "u4", resourceVersion: "3", name: "gone" } });
  });
});
