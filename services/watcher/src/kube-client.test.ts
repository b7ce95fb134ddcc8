import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { EgressDeniedError, EgressPolicy } from "@mcic/core";
import { waitFor } from "@mcic/core/testing";
import { KubeSim } from "@mcic/test/kube-sim";
import { selfSignedCert } from "@mcic/test/support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient } from "./kube-client.js";
import { ReadLimitError } from "./read-limits.js";

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

describe("KubeClient read limits", () => {
  let server: Server;
  let url: string;
  /** Whether the server was still writing when the client went away, per path. */
  const cutOff: Record<string, boolean> = {};
  const limits = { maxBodyBytes: 64 * 1024, maxLineBytes: 4 * 1024 };
  const pods = (n: number) =>
    JSON.stringify({
      kind: "PodList",
      metadata: { resourceVersion: "9" },
      items: Array.from({ length: n }, (_, i) => ({ metadata: { name: `p${i}`, uid: `u${i}`, resourceVersion: "9" } })),
    });

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      let gone = false;
      res.once("close", () => {
        gone = true;
      });
      const drained = () =>
        new Promise<void>((resolve) => {
          const done = () => {
            res.off("drain", done).off("close", done);
            resolve();
          };
          res.on("drain", done).on("close", done);
        });
      const endless = async (head: string, chunk: string) => {
        res.write(head);
        // Bounded so a client that never stops cannot keep the test server busy forever.
        for (let i = 0; i < 20_000 && !gone; i++) {
          if (!res.write(chunk)) await drained();
        }
        if (gone) cutOff[path] = true;
        res.end();
      };
      res.setHeader("content-type", "application/json");
      if (path === "/api/v1/small") return res.end(pods(3));
      if (path === "/api/v1/declared") {
        res.setHeader("content-length", String(100 * 1024 * 1024));
        return endless('{"items":[', " ".repeat(16 * 1024));
      }
      if (path === "/api/v1/huge") return endless('{"kind":"PodList","items":[', `${pods(1)},`.repeat(100));
      if (path === "/api/v1/watched") {
        res.write(
          `{"type":"ADDED","object":${JSON.stringify({ metadata: { name: "a", uid: "u", resourceVersion: "1" } })}}\n`,
        );
        return endless('{"type":"ADDED","object":{"metadata":{"name":"', "b".repeat(1024));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("reads a list page under the limit", async () => {
    const client = new KubeClient({ server: url }, undefined, undefined, limits);
    try {
      const page = await client.getJson<{ items: unknown[] }>("/api/v1/small");
      expect(page.items).toHaveLength(3);
    } finally {
      await client.close();
    }
  });

  it.each(["/api/v1/huge", "/api/v1/declared"])(
    "ends a list body over maxBodyBytes with an error naming the limit (%s)",
    async (path) => {
      const client = new KubeClient({ server: url }, undefined, undefined, limits);
      try {
        const err = await client.getJson(path).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ReadLimitError);
        expect((err as Error).message).toBe(`GET ${path}: response body over 64 KiB`);
        await waitFor(() => cutOff[path], { timeoutMs: 5000, message: "the server to see the client go" });
      } finally {
        await client.close();
      }
    },
  );

  it("ends a watch whose line passes maxLineBytes, after the events before it", async () => {
    const client = new KubeClient({ server: url }, undefined, undefined, limits);
    const names: string[] = [];
    try {
      const err = await client
        .watch("/api/v1/watched", {}, new AbortController().signal, (event) => {
          names.push(event.object.metadata.name);
          return undefined;
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReadLimitError);
      expect((err as Error).message).toBe("watch line over 4 KiB");
      expect(names).toEqual(["a"]);
      await waitFor(() => cutOff["/api/v1/watched"], { timeoutMs: 5000, message: "the server to see the client go" });
    } finally {
      await client.close();
    }
  });
});

describe("KubeClient connections to an API server", () => {
  const tls = selfSignedCert();
  const RESOURCES = ["configmaps", "secrets", "services", "endpoints"];

  /** Four watches started together, each until its object's ADDED arrives, then a list beside them. */
  async function watchAll(http2: boolean, clientHttp2 = http2): Promise<number> {
    const sim = await KubeSim.start({ tls, http2 });
    const cluster = sim.cluster("c1");
    for (const r of RESOURCES) cluster.create(`v1/${r}`, { metadata: { namespace: "ns", name: `${r}-1` } });
    const client = new KubeClient({ server: cluster.url, caData: tls.cert }, undefined, undefined, {}, clientHttp2);
    const abort = new AbortController();
    const seen = new Set<string>();
    const watches = RESOURCES.map((r) =>
      client
        .watch(`/api/v1/${r}`, {}, abort.signal, (event) => {
          seen.add(event.object.metadata.name);
          return undefined;
        })
        .catch((err: unknown) => {
          if (!abort.signal.aborted) throw err;
        }),
    );
    try {
      await waitFor(() => seen.size === RESOURCES.length, { timeoutMs: 10_000, message: "every watch's ADDED" });
      // A list still gets through while every watch holds its stream.
      const list = await client.getJson<{ items: unknown[] }>("/api/v1/configmaps");
      expect(list.items).toHaveLength(1);
      return sim.openConnections;
    } finally {
      abort.abort();
      await Promise.all(watches);
      await client.close();
      await sim.stop();
    }
  }

  it("carries every watch and list of a cluster on one connection when the server speaks HTTP/2", async () => {
    expect(await watchAll(true)).toBe(1);
  });

  it("opens a connection per watch to an HTTP/1.1 server, and lists beside them", async () => {
    expect(await watchAll(false)).toBeGreaterThanOrEqual(RESOURCES.length);
  });

  it("stays on HTTP/1.1, a connection per watch, unless WATCH_HTTP2 turns HTTP/2 on", async () => {
    expect(await watchAll(true, false)).toBeGreaterThanOrEqual(RESOURCES.length);
  });
});
