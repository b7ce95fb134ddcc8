import { type Envelope, eventSubject } from "@mcic/core";
import type { JetStreamClient } from "@nats-io/jetstream";

/**
 * Publishes an envelope to JetStream with its id as Nats-Msg-Id: the stream stores one change
 * once, however often a restart or a second replica publishes it.
 */
export function createEventPublisher(js: JetStreamClient, prefix: string): (e: Envelope) => Promise<PublishResult> {
  return async (envelope) => {
    const ack = await js.publish(eventSubject(prefix, envelope), JSON.stringify(envelope), { msgID: envelope.id });
    return { duplicate: ack.duplicate };
  };
}

/** `duplicate`: the stream already had this change (a restart or another replica sent it). */
export interface PublishResult {
  duplicate: boolean;
}
