// When the watcher benchmark times out waiting for its changes, says which watches fell short and
// what the watcher and kube-sim knew of them, so a stall names its cause instead of a count.
import { type Registry, type ResourceStatus, eventSubject, eventsStreamName, parseResource } from "@mcic/core";
import type { KubeSim } from "@mcic/test/kube-sim";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Redis } from "ioredis";

export interface ShortfallInput {
  prefix: string;
  resources: readonly string[];
  /** Objects each watch published at the initial sync. */
  initialPerWatch: number;
  /** Changes made per watch during the change phase, keyed by watchKey(). */
  made: ReadonlyMap<string, number>;
  jsm: JetStreamManager;
  registry: Registry;
  redis: Redis;
  sim: KubeSim;
  /** The watcher's /metrics; its figures are left out when it does not answer. */
  metricsUrl: string;
  /** The watcher's log lines (warn and above in the benchmark). */
  watcherLines: readonly string[];
  /** Short watches described one by one; the rest are only counted. */
  detail?: number;
}

export const watchKey = (cluster: string, resource: string) => `${cluster} ${resource}`;

/** Messages in the events stream per watch (cluster and resource as registered). */
async function streamCounts(input: ShortfallInput): Promise<Map<string, number>> {
  const { prefix, resources, jsm } = input;
  const info = await jsm.streams.info(eventsStreamName(prefix), { subjects_filter: `${prefix}.events.>` });
  const subjects = info.state.subjects ?? {};
  // cluster token . group token . plural: the subject up to the namespace names one watch.
  const byStem = new Map<string, string>();
  for (const resource of resources) {
    const ref = parseResource(resource);
    const stem = eventSubject(prefix, { cluster: "", group: ref.group, resource: ref.resource }).slice(0, -1);
    byStem.set(stem.slice(`${prefix}.events.`.length), resource);
  }
  const counts = new Map<string, number>();
  for (const [subject, n] of Object.entries(subjects)) {
    const rest = subject.slice(`${prefix}.events.`.length);
    const cluster = rest.slice(0, rest.indexOf("."));
    const stem = rest.slice(cluster.length, rest.lastIndexOf(".") + 1);
    const resource = byStem.get(stem);
    if (!resource) continue;
    const key = watchKey(cluster, resource);
    counts.set(key, (counts.get(key) ?? 0) + n);
  }
  return counts;
}

/** Per "cluster plural": published, duplicate, restart and relist counters of the watcher. */
async function watcherMetrics(url: string): Promise<Map<string, Record<string, number>> | string> {
  let text: string;
  try {
    text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
  } catch (err) {
    return `metrics unavailable: ${(err as Error).message}`;
  }
  const names: Record<string, string> = {
    mcic_watcher_events_published_total: "published",
    mcic_watcher_events_duplicate_total: "duplicates",
    mcic_watcher_watch_restarts_total: "restarts",
    mcic_watcher_relists_total: "relists",
  };
  const out = new Map<string, Record<string, number>>();
  for (const line of text.split("\n")) {
    const m = /^(\w+)\{cluster="([^"]+)",resource="([^"]+)"[^}]*\} (\S+)$/.exec(line);
    const name = m && names[m[1] as string];
    if (!m || !name) continue;
    const key = `${m[2]} ${m[3]}`;
    const entry = out.get(key) ?? {};
    entry[name] = (entry[name] ?? 0) + Number(m[4]);
    out.set(key, entry);
  }
  return out;
}

/** One line per short watch (up to `detail`), then what the watcher logged, most frequent first. */
export async function explainShortfall(input: ShortfallInput): Promise<string[]> {
  const { registry, redis, sim, initialPerWatch, made } = input;
  const counts = await streamCounts(input);
  const metrics = await watcherMetrics(input.metricsUrl);
  const short: { cluster: string; resource: string; expected: number; got: number }[] = [];
  const clusters = new Set([...made.keys()].map((k) => k.slice(0, k.indexOf(" "))));
  for (const cluster of clusters) {
    for (const resource of input.resources) {
      const key = watchKey(cluster, resource);
      const expected = initialPerWatch + (made.get(key) ?? 0);
      const got = counts.get(key) ?? 0;
      if (got < expected) short.push({ cluster, resource, expected, got });
    }
  }
  const missing = short.reduce((sum, s) => sum + s.expected - s.got, 0);
  const lines = [
    `${short.length} of ${clusters.size * input.resources.length} watches fell short, ${missing} changes missing in all`,
  ];
  const statuses = new Map<string, ResourceStatus[]>();
  for (const cluster of new Set(short.map((s) => s.cluster)))
    statuses.set(cluster, await registry.clusterStatus(cluster));
  const statusOf = (cluster: string, resource: string) => statuses.get(cluster)?.find((st) => st.resource === resource);
  const byStatus = new Map<string, number>();
  for (const { cluster, resource } of short) {
    const st = statusOf(cluster, resource);
    const text = `${st?.state ?? "no status"}${st?.message ? ` "${st.message.replaceAll(cluster, "<cluster>")}"` : ""}`;
    byStatus.set(text, (byStatus.get(text) ?? 0) + 1);
  }
  for (const [text, n] of byStatus) lines.push(`  ${n} short watches with status ${text}`);
  for (const s of short.slice(0, input.detail ?? 20)) {
    const { cluster, resource } = s;
    const status = statusOf(cluster, resource);
    const [holder, pttl, point, knownRaw] = await Promise.all([
      redis.get(registry.keys.clusterLease(cluster)),
      redis.pttl(registry.keys.clusterLease(cluster)),
      redis.hget(registry.keys.clusterResume(cluster), resource),
      redis.hgetall(registry.keys.clusterObjects(cluster, resource)),
    ]);
    const simCluster = sim.cluster(cluster);
    const objects = simCluster.list(resource);
    const behind = objects.filter((o) => {
      const known = knownRaw[o.metadata.uid];
      return !known || (JSON.parse(known) as string[])[0] !== o.metadata.resourceVersion;
    }).length;
    const plural = parseResource(resource).resource;
    const m = typeof metrics === "string" ? metrics : JSON.stringify(metrics.get(`${cluster} ${plural}`) ?? {});
    const resumeRv = point ? (JSON.parse(point) as { rv?: string }).rv : "none";
    lines.push(
      `  ${cluster} ${resource}: ${s.got} of ${s.expected} in the stream (${initialPerWatch} initial + ${made.get(watchKey(cluster, resource)) ?? 0} changes)` +
        ` | status ${status?.state ?? "none"}${status?.message ? ` "${status.message}"` : ""} rv ${status?.resourceVersion ?? "-"}` +
        ` | lease ${holder ?? "none"} (pttl ${pttl} ms) | saved resume rv ${resumeRv}` +
        ` | kube-sim rv ${simCluster.resourceVersion}, ${simCluster.openWatches(resource)} open watches, ${behind} of ${objects.length} objects newer than the saved state` +
        ` | metrics ${m}`,
    );
  }
  lines.push(`watcher log (${input.watcherLines.length} lines at warn and above):`, ...logSummary(input.watcherLines));
  return lines;
}

/** Log lines counted by message and error (cluster names folded), most frequent first. */
export function logSummary(logLines: readonly string[], top = 15): string[] {
  const byMessage = new Map<string, number>();
  for (const line of logLines) {
    let msg = line.slice(0, 120);
    try {
      const parsed = JSON.parse(line) as { msg?: string; err?: string };
      msg = `${parsed.msg}${parsed.err ? `: ${parsed.err.replace(/\bc\d+\b/g, "c*")}` : ""}`;
    } catch {
      // Not a log line (a stack trace, say): counted by its start.
    }
    byMessage.set(msg, (byMessage.get(msg) ?? 0) + 1);
  }
  return [...byMessage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([msg, n]) => `  ${n} x ${msg}`);
}
