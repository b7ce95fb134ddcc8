import { describe, expect, it } from "vitest";
import { EgressDeniedError } from "./egress-policy.js";
import { failureClass } from "./failure-class.js";

const coded = (code: string, message = "peer said something long") => Object.assign(new Error(message), { code });

describe("failureClass", () => {
  it.each([
    ["ECONNREFUSED", "connection refused"],
    ["ECONNRESET", "connection reset"],
    ["UND_ERR_SOCKET", "connection reset"],
    ["UND_ERR_CONNECT_TIMEOUT", "timeout"],
    ["UND_ERR_HEADERS_TIMEOUT", "timeout"],
    ["ENOTFOUND", "host not found"],
    ["EHOSTUNREACH", "host unreachable"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "tls error"],
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "tls error"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", "tls error"],
    ["ERR_SSL_WRONG_VERSION_NUMBER", "tls error"],
    ["EWHATEVER", "connection error"],
  ] as const)("%s is %s", (code, expected) => {
    expect(failureClass(coded(code))).toBe(expected);
  });

  it("names an egress refusal, wherever undici wrapped it", () => {
    const denied = new EgressDeniedError(
      "metadata.internal",
      "169.254.169.254",
      "is in the denied range 169.254.0.0/16",
    );
    expect(failureClass(denied)).toBe("egress denied");
    expect(failureClass(new Error("fetch failed", { cause: denied }))).toBe("egress denied");
  });

  it("looks through causes and the addresses happy eyeballs tried", () => {
    expect(failureClass(new Error("fetch failed", { cause: coded("ECONNREFUSED") }))).toBe("connection refused");
    expect(failureClass(new AggregateError([coded("ETIMEDOUT"), coded("ECONNREFUSED")]))).toBe("timeout");
  });

  it("calls anything else a connection error, never its message", () => {
    expect(failureClass(new Error("socket hang up at 10.0.0.7:8443"))).toBe("connection error");
    expect(failureClass("not even an error")).toBe("connection error");
  });
});
