/**
 * Exit codes of `mcic` (documented in its --help and in README.md):
 * 0 done; 1 the API refused the request, could not be reached, or what was asked for failed
 * (a test ping that was not answered 2xx); 2 the command line itself is wrong.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** An error the CLI reports as `error: <message>` (plus `details`, one per line) and exits with. */
export class CliError extends Error {
  readonly exitCode: number;
  readonly details: string[];
  constructor(message: string, exitCode: number, details: string[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.details = details;
  }
}

/** The command line is wrong: conflicting options, an unreadable file, a malformed value. */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, EXIT_USAGE, hint ? [`hint: ${hint}`] : []);
  }
}

/** The API answered with an error (problem+json or anything else that is not 2xx). */
export class ApiError extends CliError {
  readonly status: number;
  constructor(status: number, message: string, details: string[]) {
    super(message, EXIT_FAILURE, details);
    this.status = status;
  }
}

/** No answer at all: connection refused, DNS, TLS, timeout. */
export class UnreachableError extends CliError {
  constructor(apiUrl: string, reason: string, cause?: unknown) {
    super(`cannot reach the mcic API at ${apiUrl}: ${reason}`, EXIT_FAILURE, [], { cause });
  }
}

/** A 2xx answer that is not what the API documents (a proxy in between, another service on the port). */
export class UnexpectedResponseError extends CliError {
  constructor(what: string, detail: string) {
    super(`unexpected answer from the API to ${what}: ${detail}`, EXIT_FAILURE);
  }
}

/** What was asked for ran but did not succeed (e.g. a test ping got no 2xx). The result is already printed. */
export class FailedError extends CliError {
  constructor(message: string) {
    super(message, EXIT_FAILURE);
  }
}
