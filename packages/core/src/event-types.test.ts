import { describe, expect, it } from "vitest";
import { PING_EVENT_TYPE, SNAPSHOT_COMPLETED_EVENT_TYPE, eventCatalog } from "./event-types.js";

describe("eventCatalog", () => {
  it("lists the change types of every watched resource, once per group, plus the constant types", () => {
    const catalog = eventCatalog([
      { name: "east", resources: ["networking.k8s.io/v1/ingresses", "v1/services"] },
      { name: "west", resources: ["ingresses", "example.com/v1/ingresses"] },
    ]);
    const types = catalog.map((e) => `${e.type} ${e.group ?? "-"} ${e.clusters?.join(",") ?? "-"}`);
    expect(types).toEqual([
      "dev.mcic.ingresses.added example.com west",
      "dev.mcic.ingresses.added networking.k8s.io east,west",
      "dev.mcic.ingresses.deleted example.com west",
      "dev.mcic.ingresses.deleted networking.k8s.io east,west",
      "dev.mcic.ingresses.modified example.com west",
      "dev.mcic.ingresses.modified networking.k8s.io east,west",
      "dev.mcic.services.added  east",
      "dev.mcic.services.deleted  east",
      "dev.mcic.services.modified  east",
      `${PING_EVENT_TYPE} - -`,
      `${SNAPSHOT_COMPLETED_EVENT_TYPE} - -`,
    ]);
    expect(catalog[0]).toMatchObject({ resource: "ingresses", version: "v1", eventType: "ADDED" });
  });

  it("has only the constant types without clusters", () => {
    expect(eventCatalog([]).map((e) => e.type)).toEqual([PING_EVENT_TYPE, SNAPSHOT_COMPLETED_EVENT_TYPE]);
  });
});
