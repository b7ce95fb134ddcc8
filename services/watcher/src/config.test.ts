import { ConfigError } from "@mcic/core";
import { describe, expect, it } from "vitest";
import { loadWatcherConfig } from "./config.js";

const KEY = Buffer.alloc(32, 7).toString("base64");

describe("loadWatcherConfig: WATCH_HTTP2", () => {
  it("is off unless set to true", () => {
    expect(loadWatcherConfig({ MCIC_SECRET_KEY: KEY }).WATCH_HTTP2).toBe(false);
    expect(loadWatcherConfig({ MCIC_SECRET_KEY: KEY, WATCH_HTTP2: "false" }).WATCH_HTTP2).toBe(false);
    expect(loadWatcherConfig({ MCIC_SECRET_KEY: KEY, WATCH_HTTP2: "true" }).WATCH_HTTP2).toBe(true);
  });

  it.each(["yes", "1", "TRUE", ""])("refuses WATCH_HTTP2=%j, naming the variable", (value) => {
    let refused: unknown;
    try {
      loadWatcherConfig({ MCIC_SECRET_KEY: KEY, WATCH_HTTP2: value });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).errors).toEqual([{ path: "WATCH_HTTP2", message: expect.any(String) }]);
  });
});
