// "raw POST (ceiling)": plain undici Pool POSTs of the same signed CloudEvent bodies mcic sends,
// 64 connections and 256 requests in flight, from its own process. Bodies and signatures are made
// before the clock starts: what is timed is only what no webhook sender can avoid.
import { toCloudEvent, signWebhook, webhookKey } from "@mcic/core";
import { ingressEnvelope } from "@mcic/test/support";
import { Pool } from "undici";
import { type BenchMessage, epochMs, exitWithParent, toParent } from "./ipc.js";
import type { RawDoneMessage, RawJobMessage } from "./raw-post.js";

type Prepared = {
  job: RawJobMessage;
  requests: { event: number; path: string; headers: Record<string, string>; body: string }[];
};
let prepared: Prepared | undefined;

/** Bodies and signatures, made when asked to prepare: before the benchmark starts its clock. */
function prepare(job: RawJobMessage): void {
  const keys = job.targets.map((t) => webhookKey(t.secret));
  const requests: Prepared["requests"] = [];
  for (let n = 0; n < job.events; n++) {
    const e = ingressEnvelope(job.cluster, `o${n}`, n + 1);
    const body = JSON.stringify(toCloudEvent(e, { includeSecretData: false, payload: "full" }));
    const ts = Math.floor(Date.now() / 1000);
    job.targets.forEach((t, i) => {
      const headers = {
        "content-type": "application/cloudevents+json",
        "webhook-id": e.id,
        "webhook-timestamp": String(ts),
        "webhook-signature": signWebhook(keys[i] as Buffer, e.id, ts, body),
      };
      requests.push({ event: n, path: t.path, headers, body });
    });
  }
  prepared = { job, requests };
  toParent({ type: "prepared" });
}

async function run(): Promise<void> {
  if (!prepared) throw new Error("run before prepare");
  const { job, requests } = prepared;
  prepared = undefined;
  const pool = new Pool(job.origin, { connections: job.connections });
  const startedAt = new Array<number>(job.events).fill(0);
  let next = 0;
  const start = epochMs();
  await Promise.all(
    Array.from({ length: job.inFlight }, async () => {
      while (next < requests.length) {
        const r = requests[next++] as (typeof requests)[number];
        if (startedAt[r.event] === 0) startedAt[r.event] = epochMs();
        const res = await pool.request({ path: r.path, method: "POST", headers: r.headers, body: r.body });
        await res.body.dump();
        if (res.statusCode >= 300) throw new Error(`receiver answered ${res.statusCode}`);
      }
    }),
  );
  const elapsedMs = epochMs() - start;
  await pool.close();
  toParent({ type: "done", elapsedMs, startedAt } satisfies RawDoneMessage);
}

process.on("message", (m: BenchMessage) => {
  if (m.type === "prepare") prepare(m as RawJobMessage);
  else if (m.type === "run")
    run().catch((err: unknown) => {
      console.error("raw POST failed:", err);
      process.exit(1);
    });
  else if (m.type === "stop") process.disconnect();
});
exitWithParent();
toParent({ type: "ready" });
