import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLoopbackBindHost, isLoopbackHostHeader } from "./loopback.js";
import { type Harness, startHarness } from "./test-harness.js";

/** A GET with a Host header of our choosing (fetch would not let us forge it). */
function getWithHost(base: string, path: string, host: string): Promise<{ status: number; type: string; body: any }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname: url.hostname, port: url.port, path: url.pathname, headers: { host } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers["content-type"] ?? "",
          body: text ? JSON.parse(text) : undefined,
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the open API (no API_TOKENS) answers only to a loopback Host", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ tokens: [] });
  });
  afterAll(async () => {
    await h.close();
  });

  it.each(["localhost:8000", "127.0.0.1", "[::1]:1234", "LOCALHOST", "localhost"])("serves Host %s", async (host) => {
    const res = await getWithHost(h.base, "/api/v1/clusters", host);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
  });

  it.each(["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example", "10.0.0.1:8000"])(
    "answers 421 to Host %s, on every route",
    async (host) => {
      for (const path of ["/api/v1/clusters", "/healthz", "/openapi.json"]) {
        const res = await getWithHost(h.base, path, host);
        expect(res.status, path).toBe(421);
        expect(res.type).toContain("application/problem+json");
        expect(res.body).toMatchObject({
          type: "urn:mcic:problem:misdirected_request",
          title: "Misdirected Request",
          status: 421,
        });
        expect(res.body.detail).toContain("API_TOKENS");
      }
    },
  );
});

describe("loopback names", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["::1", true],
    ["0:0:0:0:0:0:0:1", true],
    ["localhost", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.5", false],
    ["api.example", false],
  ])("binding to %s keeps the API on this machine: %s", (host, loopback) => {
    expect(isLoopbackBindHost(host)).toBe(loopback);
  });

  it.each([
    ["localhost:8000", true],
    ["[::1]", true],
    ["127.0.0.1:65535", true],
    [undefined, false],
    ["", false],
    ["localhost:", false],
    ["localhost:80:80", false],
    ["[::1].evil", false],
    ["127.0.0.2", false],
  ])("Host %j is loopback: %s", (header, loopback) => {
    expect(isLoopbackHostHeader(header)).toBe(loopback);
  });
});
