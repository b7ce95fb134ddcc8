// The webhook receiver of latency-bench, in its own process as every real receiver is: answers
// 204 and reports to its parent (IPC), per delivery, the webhook-id and when the whole body had
// arrived on the monotonic clock (process.hrtime: CLOCK_MONOTONIC, the same in every process of
// the machine, so the parent can subtract its own write times).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export type ReceiverMessage = { port: number } | { arrivals: [id: string, atUs: number][] };

const send = (m: ReceiverMessage) => process.send?.(m);
let arrivals: [string, number][] = [];
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    arrivals.push([String(req.headers["webhook-id"]), Number(process.hrtime.bigint() / 1000n)]);
    res.writeHead(204).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => send({ port: (server.address() as AddressInfo).port }));
// Reported in batches, so reporting costs this process little per delivery.
setInterval(() => {
  if (arrivals.length === 0) return;
  send({ arrivals });
  arrivals = [];
}, 50);
process.on("disconnect", () => process.exit(0));
