import { isEgressDenied } from "./egress-policy.js";

/**
 * Why an outbound request got no answer, in a few fixed words. This is what API callers see: the
 * text of the error itself names the addresses a host resolved to and what a socket reported,
 * which would make the API a tool to map a private network.
 */
export type FailureClass =
  | "egress denied"
  | "timeout"
  | "connection refused"
  | "connection reset"
  | "host not found"
  | "host unreachable"
  | "tls error"
  | "connection error";

const BY_CODE: Record<string, FailureClass> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  UND_ERR_SOCKET: "connection reset",
  UND_ERR_CLOSED: "connection reset",
  ETIMEDOUT: "timeout",
  UND_ERR_CONNECT_TIMEOUT: "timeout",
  UND_ERR_HEADERS_TIMEOUT: "timeout",
  UND_ERR_BODY_TIMEOUT: "timeout",
  ABORT_ERR: "timeout",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  EAI_NONAME: "host not found",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "host unreachable",
  EADDRNOTAVAIL: "host unreachable",
};

/** OpenSSL verification codes and Node's TLS error codes. */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|.*CERT.*|.*_SIGNATURE$|EPROTO$)/;

/** The class of an error from undici or a socket (causes and AggregateErrors included). */
export function failureClass(err: unknown): FailureClass {
  if (isEgressDenied(err)) return "egress denied";
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") {
      const known = BY_CODE[code];
      if (known) return known;
      if (TLS_CODE.test(code)) return "tls error";
    }
    // Happy eyeballs reports every address it tried; the first says as much as any.
    e = e instanceof AggregateError && e.errors.length > 0 ? e.errors[0] : e.cause;
  }
  return "connection error";
}
