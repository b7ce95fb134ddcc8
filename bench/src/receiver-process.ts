// The benchmark's webhook receiver, in its own process as every real receiver is: answers 204 at
// once and notes when each delivery the benchmark asked about arrived (bench/src/receiver.ts).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type BenchMessage, epochMs, exitWithParent, toParent } from "./ipc.js";
import type { ArrivalsMessage, ExpectMessage } from "./receiver.js";

interface Run {
  run: number;
  wanted: Set<string>;
  expected: number;
  ids: string[];
  at: number[];
}

let current: Run | undefined;

const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const r = current;
    const id = req.headers["webhook-id"];
    if (r && typeof id === "string" && r.wanted.has(id)) {
      r.ids.push(id);
      r.at.push(epochMs());
      if (r.at.length === r.expected) {
        current = undefined;
        toParent({ type: "arrivals", run: r.run, ids: r.ids, at: r.at } satisfies ArrivalsMessage);
      }
    }
    res.writeHead(204).end();
  });
});
server.keepAliveTimeout = 60_000;

process.on("message", (m: BenchMessage) => {
  if (m.type === "expect") {
    const { run, ids, copies } = m as ExpectMessage;
    current = { run, wanted: new Set(ids), expected: ids.length * copies, ids: [], at: [] };
    toParent({ type: "expecting", run });
  } else if (m.type === "cancel") {
    if (current?.run === (m as BenchMessage & { run: number }).run) current = undefined;
  } else if (m.type === "stop") {
    server.close();
    server.closeAllConnections();
    process.disconnect();
  }
});

exitWithParent();
server.listen(0, "127.0.0.1", () => toParent({ type: "listening", port: (server.address() as AddressInfo).port }));
