/** A Kubernetes API error, answered with the `Status` object a real apiserver sends. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  toStatus() {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
  }
}

export const notFound = (what: string) =>
  new StatusError(404, "NotFound", `the server could not find the requested resource (${what})`);

export const badRequest = (message: string) => new StatusError(400, "BadRequest", message);

export const expired = (message: string) => new StatusError(410, "Expired", message);
