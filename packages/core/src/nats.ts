import {
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  type StreamConfig,
  StorageType,
} from "@nats-io/jetstream";
import { connect, type NatsConnection, nanos } from "@nats-io/transport-node";
import { deliveriesStreamName, deliveriesSubjectWildcard } from "./delivery.js";
import { eventsStreamName, eventsSubjectWildcard } from "./envelope.js";
import { type JetStreamRetryOptions, retryWhileUnavailable } from "./jetstream-retry.js";

export type { NatsConnection } from "@nats-io/transport-node";

/** The servers of NATS_URL: one URL, or a comma list of a cluster's nodes (spaces allowed). */
export function natsServers(url: string): string[] {
  return url
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * Connects to the first node of the list that answers, and on a cluster moves to another node
 * whenever its node goes away (the servers learn each other's addresses from the cluster too).
 */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: natsServers(url),
    name,
    // Async stack traces cost ~60% of JetStream publish throughput on the hot path.
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
}

/** Seconds of duplicate detection: republishing after a restart within it stores nothing new. */
export const DUPLICATE_WINDOW_MS = 15 * 60_000;
export const EVENTS_MAX_AGE_MS = 7 * 24 * 3600_000;

/** A stream's settings from the configuration, and how long to wait for JetStream to take them. */
export interface StreamOptions extends JetStreamRetryOptions {
  prefix: string;
  replicas: number;
}

/** Creates the events stream when missing, or brings its settings up to date. */
export async function ensureEventsStream(nc: NatsConnection, options: StreamOptions): Promise<JetStreamManager> {
  return ensureStream(nc, options, {
    name: eventsStreamName(options.prefix),
    subjects: [eventsSubjectWildcard(options.prefix)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    max_age: nanos(EVENTS_MAX_AGE_MS),
    num_replicas: options.replicas,
  });
}

/**
 * The per-server delivery queue (retries, replays, snapshots): a work queue, so a message is gone
 * once a dispatcher acknowledged it.
 */
export async function ensureDeliveriesStream(nc: NatsConnection, options: StreamOptions): Promise<JetStreamManager> {
  return ensureStream(nc, options, {
    name: deliveriesStreamName(options.prefix),
    subjects: [deliveriesSubjectWildcard(options.prefix)],
    storage: StorageType.File,
    retention: RetentionPolicy.Workqueue,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    max_age: nanos(EVENTS_MAX_AGE_MS * 4),
    num_replicas: options.replicas,
  });
}

interface StreamSettings {
  name: string;
  subjects: string[];
  storage: StorageType;
  retention: RetentionPolicy;
  duplicate_window: number;
  max_age: number;
  num_replicas: number;
}

/** Retried while JetStream cannot answer (see retryWhileUnavailable): a cluster electing leaders. */
async function ensureStream(
  nc: NatsConnection,
  options: StreamOptions,
  config: StreamSettings,
): Promise<JetStreamManager> {
  const jsm = await jetstreamManager(nc);
  await retryWhileUnavailable(`stream ${config.name}`, () => applyStream(jsm, config), options);
  return jsm;
}

async function applyStream(jsm: JetStreamManager, config: StreamSettings): Promise<void> {
  const name = config.name;
  let current: StreamConfig | undefined;
  try {
    current = (await jsm.streams.info(name)).config;
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  if (!current) {
    try {
      await jsm.streams.add(config);
    } catch (addErr) {
      // Another replica created it between our info and add: that is the outcome we wanted.
      if (!String((addErr as Error).message).includes("already in use")) throw addErr;
    }
    return;
  }
  const { storage: _s, retention: _r, ...mutable } = config;
  // Every service start would otherwise send an update through the cluster's meta leader.
  const same =
    current.subjects?.join(",") === mutable.subjects.join(",") &&
    current.duplicate_window === mutable.duplicate_window &&
    current.max_age === mutable.max_age &&
    current.num_replicas === mutable.num_replicas;
  if (!same) await jsm.streams.update(name, mutable);
}

function isStreamNotFound(err: unknown): boolean {
  return (
    (err as { name?: string }).name === "StreamNotFoundError" ||
    /stream not found/i.test(String((err as Error).message))
  );
}
