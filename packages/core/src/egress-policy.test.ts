import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_EGRESS_DENY,
  EgressDeniedError,
  EgressPolicy,
  defaultEgressPolicy,
  isEgressDenied,
  parseCidrList,
} from "./egress-policy.js";

describe("parseCidrList", () => {
  it("reads IPv4 and IPv6 ranges and bare addresses, ignoring spaces and empty parts", () => {
    expect(parseCidrList(" 10.0.0.0/8, fe80::/10,,192.168.1.7 ,::1")).toEqual([
      "10.0.0.0/8",
      "fe80::/10",
      "192.168.1.7/32",
      "::1/128",
    ]);
    expect(parseCidrList("")).toEqual([]);
  });

  it.each(["10.0.0.0/33", "fe80::/129", "10.0.0/8", "example.com/8", "10.0.0.0/8/1", "10.0.0.0/-1", "10.0.0.0/"])(
    "refuses %j, quoting it",
    (text) => {
      expect(() => parseCidrList(text)).toThrow(`"${text}" is not a CIDR`);
    },
  );
});

describe("EgressPolicy.check", () => {
  const policy = defaultEgressPolicy();

  it.each(["169.254.169.254", "169.254.0.1", "fe80::1", "0.0.0.0", "::ffff:169.254.169.254", "::ffff:a9fe:a9fe"])(
    "denies %s by default",
    (address) => {
      const verdict = policy.check(address);
      expect(verdict.allowed).toBe(false);
      expect(verdict.reason).toMatch(/denied range/);
    },
  );

  it.each(["127.0.0.1", "::1", "10.1.2.3", "192.168.0.10", "172.16.5.5", "8.8.8.8", "2001:db8::1"])(
    "allows %s by default (loopback and private ranges stay reachable)",
    (address) => {
      expect(policy.check(address)).toEqual({ allowed: true });
    },
  );

  it("names the range that denied, and refuses what is not an address", () => {
    expect(policy.check("169.254.169.254").reason).toBe("is in the denied range 169.254.0.0/16");
    expect(policy.check("metadata.google.internal").allowed).toBe(false);
  });

  it("with an allow list, allows only it; deny wins inside it", () => {
    const strict = new EgressPolicy({ deny: ["10.0.0.66/32"], allow: ["10.0.0.0/8", "fd00::/8"] });
    expect(strict.check("10.9.9.9").allowed).toBe(true);
    expect(strict.check("fd12::1").allowed).toBe(true);
    expect(strict.check("::ffff:10.9.9.9").allowed).toBe(true);
    expect(strict.check("10.0.0.66")).toEqual({ allowed: false, reason: "is in the denied range 10.0.0.66/32" });
    expect(strict.check("192.168.1.1")).toEqual({ allowed: false, reason: "is outside the allowed ranges" });
  });

  it("takes its lists from the parsed configuration", () => {
    const fromConfig = EgressPolicy.fromConfig({ MCIC_EGRESS_DENY: [], MCIC_EGRESS_ALLOW: ["127.0.0.0/8"] });
    expect(fromConfig.check("169.254.169.254").allowed).toBe(false);
    expect(fromConfig.check("127.0.0.1").allowed).toBe(true);
    expect(EgressPolicy.fromConfig({ MCIC_EGRESS_DENY: [...DEFAULT_EGRESS_DENY] }).check("10.0.0.1").allowed).toBe(
      true,
    );
  });
});

describe("EgressPolicy.checkUrl", () => {
  const loopbackDenied = new EgressPolicy({ deny: [...DEFAULT_EGRESS_DENY, "127.0.0.0/8", "::1/128"] });

  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "http://0xa9fea9fe/",
    "http://2852039166/",
    "http://169.254.169.254./",
    "http://[::ffff:169.254.169.254]/",
    "https://[fe80::1]:6443",
    "http://0.0.0.0:8080/",
  ])("refuses %s under the default policy", (url) => {
    expect(defaultEgressPolicy().checkUrl(url).allowed).toBe(false);
  });

  it.each([
    "http://0x7f000001/",
    "http://2130706433/",
    "http://127.1/",
    "http://[::1]:9000/",
    "http://[::ffff:7f00:1]/",
  ])("refuses loopback written as %s when loopback is denied", (url) => {
    expect(loopbackDenied.checkUrl(url).allowed).toBe(false);
  });

  it("passes hostnames (checked when connecting) and allowed literals", () => {
    expect(defaultEgressPolicy().checkUrl("http://metadata.google.internal/").allowed).toBe(true);
    expect(defaultEgressPolicy().checkUrl("http://127.0.0.1:9000/").allowed).toBe(true);
    expect(loopbackDenied.checkUrl(new URL("https://lb.example.com/hook")).allowed).toBe(true);
  });
});

describe("EgressPolicy.connector against a real HTTP server on 127.0.0.1", () => {
  let server: Server;
  let port: number;
  let connections = 0;
  const agents: Agent[] = [];

  beforeAll(async () => {
    server = createServer((_req, res) => res.end("hello"));
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await new Promise((resolve) => server.close(resolve));
  });

  const agentFor = (policy: EgressPolicy) => {
    const agent = new Agent({ connect: policy.connector({ timeout: 2000 }) });
    agents.push(agent);
    return agent;
  };

  async function refusal(url: string, policy: EgressPolicy): Promise<unknown> {
    try {
      const res = await request(url, { dispatcher: agentFor(policy) });
      await res.body.dump();
    } catch (err) {
      return err;
    }
    throw new Error(`expected ${url} to be refused`);
  }

  it("connects when the policy allows the address", async () => {
    const res = await request(`http://127.0.0.1:${port}/`, { dispatcher: agentFor(defaultEgressPolicy()) });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe("hello");
  });

  it("follows hostnames to allowed addresses", async () => {
    const res = await request(`http://localhost:${port}/`, { dispatcher: agentFor(defaultEgressPolicy()) });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });

  it.each([
    ["an IP literal", "127.0.0.1"],
    ["a hostname resolving to it", "localhost"],
  ])("refuses %s in a denied range before any TCP connection", async (_label, host) => {
    const before = connections;
    const err = await refusal(`http://${host}:${port}/`, new EgressPolicy({ deny: ["127.0.0.0/8", "::1/128"] }));
    expect(err).toBeInstanceOf(EgressDeniedError);
    expect(isEgressDenied(err)).toBe(true);
    expect((err as EgressDeniedError).code).toBe("egress_denied");
    expect((err as Error).message).toMatch(/^egress denied: .*127\.0\.0\.1.* is in the denied range 127\.0\.0\.0\/8$/);
    expect(connections).toBe(before);
  });

  it("refuses an address outside the allow list", async () => {
    const err = await refusal(`http://127.0.0.1:${port}/`, new EgressPolicy({ deny: [], allow: ["10.0.0.0/8"] }));
    expect((err as Error).message).toContain("is outside the allowed ranges");
  });

  it("tells other connection errors apart from refusals", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await refusal(`http://127.0.0.1:${closedPort}/`, defaultEgressPolicy());
    expect(isEgressDenied(err)).toBe(false);
    expect((err as { code?: string }).code).toBe("ECONNREFUSED");
  });
});
