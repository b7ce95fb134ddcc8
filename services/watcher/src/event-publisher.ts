import { type Envelope, Semaphore, eventSubject } from "@mcic/core";
import type { JetStreamClient } from "@nats-io/jetstream";

/** `duplicate`: the stream already had this change (a restart or another replica sent it). */
export interface PublishResult {
  duplicate: boolean;
}

/**
 * Publishes an envelope to JetStream with its id as Nats-Msg-Id: the stream stores one change
 * once, however often a restart or a second replica publishes it. At most `maxInFlight` publishes
 * wait for their ack at once across all watches of the process: thousands of watches pipelining
 * on their own would swamp the server, time requests out and make the client retry them.
 */
export function createEventPublisher(
  js: JetStreamClient,
  prefix: string,
  maxInFlight = 512,
): (e: Envelope) => Promise<PublishResult> {
  const window = new Semaphore(maxInFlight);
  return async (envelope) => {
    await window.acquire();
    try {
      const ack = await js.publish(eventSubject(prefix, envelope), JSON.stringify(envelope), { msgID: envelope.id });
      return { duplicate: ack.duplicate };
    } finally {
      window.release();
    }
  };
}
