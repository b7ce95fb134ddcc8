import { pino, type Logger, type DestinationStream } from "pino";

export type { Logger } from "pino";

/** Paths pino censors wherever they appear in a log line: credentials never reach the logs. */
export const REDACT_PATHS = [
  "token",
  "*.token",
  "secret",
  "*.secret",
  "kubeconfig",
  "*.kubeconfig",
  "keyData",
  "*.keyData",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
];

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Where lines go; tests pass a stream to capture them. Defaults to stdout. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { service: options.name },
    },
    options.destination,
  );
}
