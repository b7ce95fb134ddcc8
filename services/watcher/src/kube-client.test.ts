import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { EgressDeniedError, EgressPolicy } from "@mcic/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient } from "./kube-client.js";

describe("KubeClient and the egress policy", () => {
  let server: Server;
  let url: string;
  let requests = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      requests++;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ kind: "NamespaceList", metadata: { resourceVersion: "7" }, items: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("reaches an API server the default policy allows", async () => {
    const client = new KubeClient({ server: url });
    try {
      expect(await client.getJson("/api/v1/namespaces")).toMatchObject({ metadata: { resourceVersion: "7" } });
    } finally {
      await client.close();
    }
  });

  it.each([
    ["by address", (u: string) => u],
    ["by a hostname resolving to it", (u: string) => u.replace("127.0.0.1", "localhost")],
  ])("refuses an API server in a denied range %s, without connecting", async (_label, toServer) => {
    const before = requests;
    const client = new KubeClient({ server: toServer(url) }, undefined, new EgressPolicy({ deny: ["127.0.0.0/8"] }));
    try {
      const err = await client.getJson("/api/v1/namespaces").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EgressDeniedError);
      expect((err as Error).message).toMatch(/^egress denied: .*127\.0\.0\.1/);
    } finally {
      await client.close();
    }
    expect(requests).toBe(before);
  });
});
