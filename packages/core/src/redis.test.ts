import { ReplyError } from "ioredis";
import { describe, expect, it } from "vitest";
import { RedisWriteError } from "./errors.js";
import { isRedisUnavailable } from "./redis.js";

describe("isRedisUnavailable", () => {
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" });
  const maxRetries = Object.assign(new Error("Reached the max retries per request limit"), {
    name: "MaxRetriesPerRequestError",
  });

  it("recognises what a failover or an outage looks like, also inside a RedisWriteError", () => {
    for (const err of [
      refused,
      maxRetries,
      new Error("Connection is closed."),
      new ReplyError("READONLY You can't write against a read only replica."),
      new ReplyError("LOADING Redis is loading the dataset in memory"),
      new ReplyError("MASTERDOWN Link with MASTER is down"),
      new RedisWriteError(new ReplyError("READONLY You can't write against a read only replica.")),
    ]) {
      expect(isRedisUnavailable(err), err.message).toBe(true);
    }
  });

  it("leaves bugs and bad data alone", () => {
    for (const err of [
      new TypeError("x is undefined"),
      new ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value"),
      new ReplyError("ERR Error running script"),
      "READONLY",
      undefined,
    ]) {
      expect(isRedisUnavailable(err), String(err)).toBe(false);
    }
  });
});
