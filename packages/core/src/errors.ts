/** A problem found in user input, pointing at the offending field. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * Base of every error mcic raises on purpose. `code` is stable (logs, metrics, problem types);
 * `status` is the HTTP status the API answers with when the error reaches a client.
 */
export class McicError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 500, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }
}

export class ValidationError extends McicError {
  readonly errors: FieldError[];
  constructor(message: string, errors: FieldError[], status = 400) {
    super("validation_failed", message, status);
    this.errors = errors;
  }
}

export class NotFoundError extends McicError {
  constructor(what: string, name: string) {
    super("not_found", `${what} "${name}" does not exist`, 404);
  }
}

export class ConflictError extends McicError {
  constructor(what: string, name: string) {
    super("conflict", `${what} "${name}" already exists`, 409);
  }
}

/** A record kept changing under a read-modify-write (Registry.updateServer, updateCluster). */
export class UpdateConflictError extends McicError {
  constructor(what: string, name: string) {
    super("update_conflict", `${what} "${name}" kept changing while it was being updated; try again`, 409);
  }
}

export class ConfigError extends McicError {
  readonly errors: FieldError[];
  constructor(errors: FieldError[]) {
    super("invalid_config", `invalid configuration: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`);
    this.errors = errors;
  }
}

/** A command of a Redis MULTI failed although the transaction ran. */
export class RedisWriteError extends McicError {
  constructor(cause: unknown) {
    super("redis_write_failed", `a Redis write failed: ${(cause as Error).message}`, 500, { cause });
  }
}

/** A REDIS_URL that cannot be used. The message never contains the URL's credentials. */
export class RedisUrlError extends McicError {
  constructor(message: string) {
    super("invalid_redis_url", message);
  }
}

/** Stored data that no longer matches its schema (hand-edited Redis, wrong key, older version). */
export class CorruptDataError extends McicError {
  constructor(key: string, detail: string) {
    super("corrupt_data", `stored value at ${key} is invalid: ${detail}`);
  }
}

export class KubeconfigError extends McicError {
  readonly path: string;
  constructor(path: string, message: string) {
    super("invalid_kubeconfig", message, 400);
    this.path = path;
  }
}
