import { type Envelope, Semaphore, type StreamPublisher, eventSubject } from "@mcic/core";

/** `duplicate`: the stream already had this change (a restart or another replica sent it). */
export interface PublishResult {
  duplicate: boolean;
}

/**
 * Publishes an envelope to JetStream with its id as Nats-Msg-Id: the stream stores one change
 * once, however often a restart or a second replica publishes it. At most `maxInFlight` publishes
 * wait for their ack at once across all watches of the process: thousands of watches pipelining
 * on their own would swamp the server and time requests out.
 */
export function createEventPublisher(
  publisher: StreamPublisher,
  prefix: string,
  maxInFlight = 512,
): (e: Envelope) => Promise<PublishResult> {
  const window = new Semaphore(maxInFlight);
  return async (envelope) => {
    await window.acquire();
    try {
      return await publisher.publish(eventSubject(prefix, envelope), JSON.stringify(envelope), envelope.id);
    } finally {
      window.release();
    }
  };
}
