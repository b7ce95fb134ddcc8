import { describe, expect, it } from "vitest";
import { CorruptDataError } from "./errors.js";
import {
  DISABLED_BY_CONFIGURATION,
  SERVER_STATUS_FIELDS,
  inactiveReason,
  isActive,
  parseServerStatus,
} from "./server-status.js";

describe("parseServerStatus", () => {
  it("reads every field dispatchers, watchers and replays write, counters as numbers", () => {
    const hash = {
      [SERVER_STATUS_FIELDS.disabledReason]: "answered 410 Gone at 2026-01-02T00:00:00.000Z",
      [SERVER_STATUS_FIELDS.pending]: "4",
      [SERVER_STATUS_FIELDS.deadLetters]: "12",
      [SERVER_STATUS_FIELDS.lastSuccessAt]: "2026-01-01T00:00:00.000Z",
      [SERVER_STATUS_FIELDS.lastFailureAt]: "2026-01-02T00:00:00.000Z",
    };
    expect(parseServerStatus("k", hash)).toEqual({
      disabledReason: "answered 410 Gone at 2026-01-02T00:00:00.000Z",
      pending: 4,
      deadLetters: 12,
      lastSuccessAt: "2026-01-01T00:00:00.000Z",
      lastFailureAt: "2026-01-02T00:00:00.000Z",
    });
  });

  it("reads a server nobody has delivered to yet as an empty status", () => {
    expect(parseServerStatus("k", {})).toEqual({});
  });

  it("keeps a pending count that dipped below zero and treats an empty reason as none", () => {
    expect(parseServerStatus("k", { pending: "-1", disabledReason: "" })).toEqual({ pending: -1 });
  });

  it("reports a counter that is not an integer, naming the key and field", () => {
    expect(() => parseServerStatus("t:{server:lb}:status", { deadLetters: "many" })).toThrow(CorruptDataError);
    expect(() => parseServerStatus("t:{server:lb}:status", { deadLetters: "many" })).toThrow(
      /t:\{server:lb\}:status.*deadLetters/,
    );
  });
});

describe("isActive and inactiveReason", () => {
  it("is active when enabled and not disabled by a dispatcher", () => {
    expect(isActive({ enabled: true }, {})).toBe(true);
    expect(inactiveReason({ enabled: true }, {})).toBeUndefined();
  });

  it("is inactive when registered with enabled: false, for that reason", () => {
    expect(isActive({ enabled: false }, {})).toBe(false);
    expect(inactiveReason({ enabled: false }, {})).toBe(DISABLED_BY_CONFIGURATION);
  });

  it("is inactive after a 410, and the dispatcher's reason wins over the configuration", () => {
    const status = { disabledReason: "answered 410 Gone" };
    expect(isActive({ enabled: true }, status)).toBe(false);
    expect(inactiveReason({ enabled: true }, status)).toBe("answered 410 Gone");
    expect(inactiveReason({ enabled: false }, status)).toBe("answered 410 Gone");
  });

  it("ignores an empty reason even when the status was not parsed", () => {
    expect(isActive({ enabled: true }, { disabledReason: "" })).toBe(true);
  });
});
