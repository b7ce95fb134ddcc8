import type { Msg } from "@nats-io/transport-node";
import { McicError } from "./errors.js";

/** What JetStream answered for one stored message. */
export interface StreamAck {
  seq: number;
  /** The stream already held a message with this id (inside its duplicate window). */
  duplicate: boolean;
}

/** JetStream did not store the message: no ack in time, no stream for the subject, or refused. */
export class StreamPublishError extends McicError {
  constructor(
    code: "publish_timeout" | "publish_no_stream" | "publish_rejected" | "publisher_closed",
    message: string,
  ) {
    super(code, message, 503);
  }
}

/** JetStream could not take the message now (no leader, no quorum): worth sending again. */
export class TransientRefusal {
  readonly error: StreamPublishError;
  constructor(error: StreamPublishError) {
    this.error = error;
  }
}

/** What JetStream's answer to one publish means. */
export function readAck(msg: Msg, subject: string): StreamAck | StreamPublishError | TransientRefusal {
  if (msg.data.length === 0 && msg.headers?.code === 503) {
    // No stream listens on the subject: none exists, or a clustered one is electing a leader.
    return new TransientRefusal(new StreamPublishError("publish_no_stream", `no JetStream stream stores ${subject}`));
  }
  let body: { seq?: number; duplicate?: boolean; error?: { code?: number; description?: string } };
  try {
    body = msg.json();
  } catch {
    return new StreamPublishError("publish_rejected", `unreadable ack for ${subject}`);
  }
  if (body.error || typeof body.seq !== "number") {
    const detail = body.error?.description ?? "no sequence in ack";
    const error = new StreamPublishError("publish_rejected", `JetStream refused ${subject}: ${detail}`);
    // 503: "JetStream system temporarily unavailable", no quorum; anything else will not change.
    return body.error?.code === 503 ? new TransientRefusal(error) : error;
  }
  return { seq: body.seq, duplicate: body.duplicate === true };
}
