import {
  type Envelope,
  type SecretBox,
  Semaphore,
  type StreamPublisher,
  eventSubject,
  isSecretEnvelope,
  sealSecretValues,
} from "@mcic/core";

/** `duplicate`: the stream already had this change (a restart or another replica sent it). */
export interface PublishResult {
  duplicate: boolean;
}

/** Publishes one envelope; `json` is its serialised form when the caller already has it. */
export type Publish = (envelope: Envelope, json?: string | Uint8Array) => Promise<PublishResult>;

/** Undefined while publishing may go on; otherwise resolves when it may (see Semaphore.room). */
export type Room = () => undefined | Promise<void>;

export interface EventPublisher {
  publish: Publish;
  /**
   * Watches ask before each publish and pause their stream while the window is full, so a burst
   * waits in the sockets rather than as envelopes in memory (where it also made every garbage
   * collection slower).
   */
  room: Room;
}

/**
 * Publishes an envelope to JetStream with its id as Nats-Msg-Id: the stream stores one change
 * once, however often a restart or a second replica publishes it. A Secret's values are sealed
 * with `box` first (the stream is on disk), whatever JSON the caller had. At most `maxInFlight` publishes
 * wait for their ack at once across all watches of the process, so a burst over thousands of
 * watches cannot swamp the server. The window is wide on purpose: a full window pauses the watch
 * streams, and pausing and resuming an HTTP stream per event cost more than the publish itself
 * (with 512 the watcher spent about 1.5 times the CPU per event of 8,192; docs/benchmarks.md).
 * An in-flight publish holds a few hundred bytes here and its envelope in the NATS socket.
 */
export function createEventPublisher(
  publisher: StreamPublisher,
  prefix: string,
  box: SecretBox,
  maxInFlight = 8192,
): EventPublisher {
  const window = new Semaphore(maxInFlight);
  const release = () => window.release();
  const send = (envelope: Envelope, json: string | Uint8Array | undefined): Promise<PublishResult> => {
    const body = isSecretEnvelope(envelope)
      ? JSON.stringify(sealSecretValues(envelope, box))
      : (json ?? JSON.stringify(envelope));
    const acked = publisher.publish(eventSubject(prefix, envelope), body, envelope.id);
    acked.then(release, release);
    return acked;
  };
  // The common case takes a free slot at once: no promise more than the publish itself.
  return {
    publish: (envelope, json) =>
      window.tryAcquire() ? send(envelope, json) : window.acquire().then(() => send(envelope, json)),
    room: () => window.room(),
  };
}
