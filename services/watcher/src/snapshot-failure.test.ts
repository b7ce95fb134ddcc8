import { EgressDeniedError } from "@mcic/core";
import { describe, expect, it } from "vitest";
import { KubeApiError } from "./kube-client.js";
import { SnapshotQueueError, snapshotFailure } from "./snapshot-failure.js";

const withCode = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("snapshotFailure (the reason a resync shows for a failed cluster)", () => {
  it("names a refused list by its HTTP status, never by what the API server said", () => {
    const reason = snapshotFailure(
      "ingresses",
      new KubeApiError(403, "forbidden: user system:anonymous at 10.1.2.3"),
      false,
    );
    expect(reason).toBe("list of ingresses failed: HTTP 403");
  });

  it("names an unreachable cluster by a fixed class, never by the socket's message", () => {
    const reason = snapshotFailure("ingresses", withCode("ECONNREFUSED", "connect ECONNREFUSED 10.9.8.7:6443"), false);
    expect(reason).toBe("cluster unreachable: connection refused");
    expect(snapshotFailure("pods", withCode("ENOTFOUND", "getaddrinfo ENOTFOUND k.internal"), false)).toBe(
      "cluster unreachable: host not found",
    );
  });

  it("says so when the egress policy forbids the cluster's address", () => {
    const reason = snapshotFailure(
      "ingresses",
      new EgressDeniedError("169.254.169.254", "169.254.169.254", "is in a denied range"),
      false,
    );
    expect(reason).toBe("cluster unreachable: egress denied");
  });

  it("tells a delivery queue failure and a stopping watcher apart", () => {
    expect(snapshotFailure("x", new SnapshotQueueError(new Error("timeout")), false)).toBe(
      "delivery queue unavailable: timeout",
    );
    expect(snapshotFailure("x", withCode("ECONNREFUSED", "boom"), true)).toBe(
      "the watcher stopped before the snapshot finished",
    );
  });
});
