import { describe, expect, it } from "vitest";
import { baseEnvSchema } from "./config.js";
import {
  type Envelope,
  EnvelopeSchema,
  envelopeId,
  eventSubject,
  eventsStreamName,
  eventsSubjectWildcard,
  groupToken,
} from "./envelope.js";

const envelope: Envelope = {
  id: envelopeId("c1", "uid-1", "42", "ADDED"),
  cluster: "c1",
  group: "",
  version: "v1",
  resource: "services",
  kind: "Service",
  namespace: "default",
  name: "web",
  uid: "uid-1",
  resourceVersion: "42",
  type: "ADDED",
  observedAt: "2024-05-01T12:00:00.000Z",
  object: { metadata: { name: "web", namespace: "default" } },
};

describe("event subjects", () => {
  it("uses core for the core group and the namespace as last token", () => {
    expect(eventSubject("mcic", envelope)).toBe("mcic.events.c1.core.services.default");
  });

  it("replaces the dots of a group, which would split subject tokens", () => {
    expect(
      eventSubject("mcic", { cluster: "c1", group: "networking.k8s.io", resource: "ingresses", namespace: "prod" }),
    ).toBe("mcic.events.c1.networking_k8s_io.ingresses.prod");
    expect(groupToken("gateway.networking.k8s.io")).toBe("gateway_networking_k8s_io");
    expect(groupToken("")).toBe("core");
  });

  it("uses _ for cluster-scoped objects", () => {
    expect(eventSubject("mcic", { cluster: "c1", group: "", resource: "nodes" })).toBe("mcic.events.c1.core.nodes._");
  });

  it("keeps the prefix, so stacks sharing a NATS do not mix", () => {
    expect(eventSubject("stack-2", envelope)).toBe("stack-2.events.c1.core.services.default");
    expect(eventsSubjectWildcard("stack-2")).toBe("stack-2.events.>");
  });
});

describe("eventsStreamName", () => {
  it("upper-cases the prefix", () => {
    expect(eventsStreamName("mcic")).toBe("MCIC_EVENTS");
  });
  it("gives stacks with different prefixes different streams", () => {
    // MCIC_PREFIX accepts both "-" and "_"; stacks sharing a NATS must not share a stream, or the
    // second one's ensureEventsStream rewrites the first one's subjects.
    const accepted = ["team-a", "team_a"].filter((prefix) => baseEnvSchema.shape.MCIC_PREFIX.safeParse(prefix).success);
    const names = accepted.map(eventsStreamName);
    expect(new Set(names).size).toBe(accepted.length);
  });
});

describe("envelopeId", () => {
  it("is cluster/uid/resourceVersion/type", () => {
    expect(envelopeId("c1", "6a1f", "1234", "MODIFIED")).toBe("c1/6a1f/1234/MODIFIED");
  });
  it("differs for each event type of the same version", () => {
    const ids = new Set(["ADDED", "MODIFIED", "DELETED"].map((t) => envelopeId("c", "u", "1", t as Envelope["type"])));
    expect(ids.size).toBe(3);
  });
});

describe("EnvelopeSchema", () => {
  it("accepts a complete envelope, with or without namespace and snapshot", () => {
    expect(EnvelopeSchema.parse(envelope)).toEqual(envelope);
    const { namespace: _ns, ...clusterScoped } = envelope;
    expect(EnvelopeSchema.safeParse({ ...clusterScoped, snapshot: true }).success).toBe(true);
  });

  it.each(["UPDATED", "added", "", undefined])("rejects type %j", (type) => {
    const result = EnvelopeSchema.safeParse({ ...envelope, type });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join("."))).toEqual(["type"]);
  });

  it("rejects a missing object and an empty uid", () => {
    const { object: _o, ...noObject } = envelope;
    expect(EnvelopeSchema.safeParse(noObject).success).toBe(false);
    expect(EnvelopeSchema.safeParse({ ...envelope, uid: "" }).success).toBe(false);
  });
});
