import { describe, expect, it } from "vitest";
import { age, clean, list, percent, renderTable, shortTime } from "./text.js";

describe("tables", () => {
  it("align columns kubectl-style: three spaces apart, no borders, last column unpadded", () => {
    const text = renderTable(
      ["NAME", "STATE", "AGE"],
      [
        ["east", "watching", "5m"],
        ["a-much-longer-name", "error", "12d"],
      ],
    );
    expect(text).toBe(
      "NAME                 STATE      AGE\n" +
        "east                 watching   5m\n" +
        "a-much-longer-name   error      12d\n",
    );
  });

  it("a header alone when there are no rows", () => {
    expect(renderTable(["NAME", "URL"], [])).toBe("NAME   URL\n");
  });
});

describe("cells", () => {
  it("control characters from the API never reach the terminal", () => {
    expect(clean("web\u001b[2J\u001b]0;pwned\u0007")).toBe("web?[2J?]0;pwned?");
    expect(clean("a\nb\rc\td")).toBe("a?b?c?d");
    expect(clean("evil\u202egnp.exe")).toBe("evil?gnp.exe");
  });

  it("lists, ages, times and percentages read like kubectl", () => {
    const now = new Date("2026-12-02T12:00:00Z");
    expect(list(undefined)).toBe("*");
    expect(list(["a", "b"])).toBe("a,b");
    expect(age("2026-12-02T11:59:15Z", now)).toBe("45s");
    expect(age("2026-12-02T11:00:00Z", now)).toBe("60m");
    expect(age("2026-12-01T12:00:00Z", now)).toBe("24h");
    expect(age("2026-11-20T12:00:00Z", now)).toBe("12d");
    expect(age("not a time", now)).toBe("-");
    expect(shortTime("2026-12-02T12:00:01.234Z")).toBe("2026-12-02T12:00:01Z");
    expect(percent(0.9876)).toBe("98.8%");
    expect(percent(undefined)).toBe("-");
  });
});
