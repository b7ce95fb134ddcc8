import { describe, expect, it } from "vitest";
import { LogPrinter } from "./log-printer.js";

const retry = (server: string, error: string, time: number) =>
  JSON.stringify({
    level: 40,
    time,
    service: "dispatcher",
    server,
    error,
    attempt: 2,
    msg: "delivery failed; will retry",
  });

describe("make run's log printer", () => {
  it("prints pino lines on one line with ISO times and the process, other lines as they are", () => {
    const out: string[] = [];
    const printer = new LogPrinter({ format: "pretty", write: (t) => out.push(t) });
    printer.line(
      "api",
      JSON.stringify({ level: 30, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), pid: 1, msg: "listening", port: 8000 }),
    );
    printer.line("kube-sim", "kube-sim listening on https://127.0.0.1:1234");
    expect(out).toEqual([
      '[api] [2026-01-02T03:04:05.006Z] INFO: listening {"port":8000}\n',
      "[kube-sim] kube-sim listening on https://127.0.0.1:1234\n",
    ]);
  });

  it("folds the retries of one server into a summary, per server", () => {
    const out: string[] = [];
    const printer = new LogPrinter({ format: "pretty", write: (t) => out.push(t) });
    for (let i = 0; i < 12; i++)
      printer.line("dispatcher", retry("lb-1", "connect ECONNREFUSED 10.0.0.9:8080", 1000 + i));
    printer.line("dispatcher", retry("lb-2", "timeout", 2000));
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(
      /^\[dispatcher\] \[1970-01-01T00:00:01\.000Z\] WARN: delivery failed; will retry .*"server":"lb-1".*"error":"connect ECONNREFUSED 10\.0\.0\.9:8080".*\n$/,
    );
    printer.summarise("30 s");
    expect(out.slice(2)).toEqual([
      "[dispatcher] lb-1: 11 more retries in the last 30 s, last error connect ECONNREFUSED 10.0.0.9:8080\n",
    ]);
    // A new window prints the next retry again.
    printer.line("dispatcher", retry("lb-1", "connect ECONNREFUSED 10.0.0.9:8080", 40_000));
    expect(out).toHaveLength(4);
    printer.summarise("30 s");
    expect(out).toHaveLength(4);
  });

  it("keeps JSON as written with LOG_FORMAT=json", () => {
    const out: string[] = [];
    const printer = new LogPrinter({ format: "json", write: (t) => out.push(t) });
    for (let i = 0; i < 3; i++) printer.line("dispatcher", retry("lb-1", "x", i));
    printer.line("kube-sim", "kube-sim listening on http://127.0.0.1:1");
    expect(out).toEqual([
      ...[0, 1, 2].map((i) => `${retry("lb-1", "x", i)}\n`),
      "[kube-sim] kube-sim listening on http://127.0.0.1:1\n",
    ]);
  });
});
