import { describe, expect, it } from "vitest";
import { type ChangeNotice, encodeChangeNotice, parseChangeNotice } from "./change-notice.js";

describe("encodeChangeNotice", () => {
  it("writes what followers parse back, in kind, name, op order", () => {
    const text = encodeChangeNotice({ op: "updated", name: "east", kind: "cluster" });
    expect(text).toBe('{"kind":"cluster","name":"east","op":"updated"}');
    expect(parseChangeNotice(text)).toEqual({ kind: "cluster", name: "east", op: "updated" });
  });

  it("refuses a notice followers would drop as malformed", () => {
    const bad = { kind: "server", name: "lb", op: "renamed" } as unknown as ChangeNotice;
    expect(() => encodeChangeNotice(bad)).toThrow();
  });
});
