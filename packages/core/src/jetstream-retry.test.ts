import { Writable } from "node:stream";
import { JetStreamApiError } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { isJetStreamUnavailable, retryWhileUnavailable } from "./jetstream-retry.js";
import { createLogger } from "./logger.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    name: "retry-test",
    destination: new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    }),
  });
  return { lines, logger };
}

const unavailable = () =>
  new JetStreamApiError({ code: 503, err_code: 10008, description: "JetStream system temporarily unavailable" });

describe("retryWhileUnavailable", () => {
  it("tells a JetStream that cannot answer now from one that refuses", () => {
    expect(isJetStreamUnavailable(new errors.TimeoutError())).toBe(true);
    expect(isJetStreamUnavailable(unavailable())).toBe(true);
    const refused = new JetStreamApiError({ code: 500, err_code: 10074, description: "replicas > 1 not supported" });
    expect(isJetStreamUnavailable(refused)).toBe(false);
    expect(isJetStreamUnavailable(new Error("boom"))).toBe(false);
  });

  it("asks again after timeouts and 503s until it works, saying what it waits for", async () => {
    const { lines, logger } = capture();
    const failures = [new errors.TimeoutError(), unavailable()];
    let calls = 0;
    const result = await retryWhileUnavailable(
      "stream X",
      async () => {
        calls++;
        const failure = failures.shift();
        if (failure) throw failure;
        return "done";
      },
      { logger },
    );
    expect(result).toBe("done");
    expect(calls).toBe(3);
    expect(lines.map((l) => [l.msg, l.what])).toEqual([
      ["JetStream not ready; retrying", "stream X"],
      ["JetStream not ready; retrying", "stream X"],
    ]);
  });

  it("fails at once on a refusal, and with the last error once the deadline passed", async () => {
    let calls = 0;
    await expect(
      retryWhileUnavailable("x", async () => {
        calls++;
        throw new Error("bad config");
      }),
    ).rejects.toThrow("bad config");
    expect(calls).toBe(1);

    const started = Date.now();
    await expect(
      retryWhileUnavailable(
        "x",
        async () => {
          throw unavailable();
        },
        { timeoutMs: 500 },
      ),
    ).rejects.toThrow(/temporarily unavailable/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
