/** A request the receiver refuses: `status` is the HTTP answer, `code` a stable machine name. */
export class ReceiverError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** The header or body field at fault, when there is one. */
    readonly field?: string,
  ) {
    super(message);
    this.name = "ReceiverError";
  }
}

export class SignatureError extends ReceiverError {
  constructor(message: string, field = "webhook-signature") {
    super("bad_signature", 401, message, field);
    this.name = "SignatureError";
  }
}

export class InvalidEventError extends ReceiverError {
  constructor(message: string, field?: string) {
    super("invalid_event", 400, message, field);
    this.name = "InvalidEventError";
  }
}

export class BodyTooLargeError extends ReceiverError {
  constructor(limit: number) {
    super("body_too_large", 413, `body over ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** The store could not load or write: the answer is 503, so mcic retries the delivery later. */
export class StoreError extends ReceiverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("store_unavailable", 503, message);
    this.name = "StoreError";
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}
