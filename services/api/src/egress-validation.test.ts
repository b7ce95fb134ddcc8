import { DEFAULT_EGRESS_DENY, EgressPolicy } from "@mcic/core";
import { TEST_CA_PEM, startReceiver } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, KUBECONFIG, startHarness } from "./test-harness.js";

const C = "/api/v1/clusters";
const S = "/api/v1/servers";
const CA_DATA = Buffer.from(TEST_CA_PEM).toString("base64");
const SEED = "/cic/nitro/v1/config/controller";
const SEED_OK = { ClusterName: "seed", KubeURL: "https://k.example:6443", ServerURL: ["http://lb.example.com/"] };
const kubeconfigAt = (server: string) => KUBECONFIG.replace('"https://10.0.0.1:6443"', `"${server}"`);

interface Row {
  label: string;
  path: string;
  body: Record<string, unknown>;
  field: string;
  message: RegExp;
}

const rows: Row[] = [
  ...[
    "http://169.254.169.254/latest/meta-data/",
    "http://0xa9fea9fe/",
    "http://2852039166/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]:8080/",
    "http://0.0.0.0:9000/",
  ].map((url) => ({
    label: `server url ${url}`,
    path: S,
    body: { name: "s", url },
    field: "url",
    message: /denied range/,
  })),
  {
    label: "server url with userinfo",
    path: S,
    body: { name: "s", url: "https://user:pw@lb.example.com/hook" },
    field: "url",
    message: /user name or password/,
  },
  {
    label: "cluster server at the metadata address",
    path: C,
    body: { name: "c", server: "https://169.254.169.254:6443", token: "t" },
    field: "server",
    message: /denied range 169\.254\.0\.0\/16/,
  },
  {
    label: "cluster server with userinfo",
    path: C,
    body: { name: "c", server: "https://admin:pw@k.example:6443" },
    field: "server",
    message: /user name or password/,
  },
  {
    label: "cluster server over http with a token",
    path: C,
    body: { name: "c", server: "http://k.example:8080", token: "t" },
    field: "server",
    message: /must be https/,
  },
  {
    label: "caData that is base64 of junk",
    path: C,
    body: { name: "c", server: "https://k.example:6443", caData: "QUJD" },
    field: "caData",
    message: /no PEM certificate/,
  },
  {
    label: "caData whose certificate block is junk",
    path: C,
    body: {
      name: "c",
      server: "https://k.example:6443",
      caData: Buffer.from("-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n").toString("base64"),
    },
    field: "caData",
    message: /cannot be read/,
  },
  {
    label: "kubeconfig server at a link-local address",
    path: C,
    body: { name: "c", kubeconfig: kubeconfigAt("https://[fe80::1]:6443") },
    field: "kubeconfig",
    message: /denied range fe80::\/10/,
  },
  {
    label: "kubeconfig with junk CA data",
    path: C,
    body: {
      name: "c",
      kubeconfig: KUBECONFIG.replace(/certificate-authority-data: [^}]+/, "certificate-authority-data: QUJD"),
    },
    field: "kubeconfig",
    message: /certificate-authority-data/,
  },
  {
    label: "kubeconfig server over http with a token",
    path: C,
    body: { name: "c", kubeconfig: kubeconfigAt("http://k.example:8080") },
    field: "kubeconfig",
    message: /must be https:\/\/ when a token is given/,
  },
  {
    label: "kubeconfig with username/password",
    path: C,
    body: { name: "c", kubeconfig: KUBECONFIG.replace("{token: sekret-kube-token}", "{username: a, password: b}") },
    field: "kubeconfig",
    message: /username\/password/,
  },
  {
    label: "seed KubeURL at the metadata address",
    path: SEED,
    body: { ...SEED_OK, KubeURL: "https://169.254.169.254:6443" },
    field: "KubeURL",
    message: /denied range 169\.254\.0\.0\/16/,
  },
  {
    label: "seed KubeURL with userinfo",
    path: SEED,
    body: { ...SEED_OK, KubeURL: "https://admin:pw@k.example:6443" },
    field: "KubeURL",
    message: /user name or password/,
  },
  {
    label: "seed KubeURL over http with a token",
    path: SEED,
    body: { ...SEED_OK, KubeURL: "http://k.example:8080", KubeServAcctToken: "t" },
    field: "KubeURL",
    message: /must be https/,
  },
  {
    label: "seed ServerURL at a link-local address",
    path: SEED,
    body: { ...SEED_OK, ServerURL: ["http://lb.example.com/", "http://169.254.169.254/"] },
    field: "ServerURL.1",
    message: /denied range/,
  },
  {
    label: "seed ServerURL with userinfo",
    path: SEED,
    body: { ...SEED_OK, ServerURL: ["https://user:pw@lb.example.com/hook"] },
    field: "ServerURL.0",
    message: /user name or password/,
  },
];

describe("registration refuses what mcic must not connect to (default egress policy)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it.each(rows)("$label → 400 naming $field", async (row) => {
    const before = await h.snapshot();
    const res = await h.call("POST", row.path, row.body);
    expect(res.status, res.text).toBe(400);
    expect(res.type).toContain("application/problem+json");
    const error = (res.body.errors as { path: string; message: string }[]).find((e) => e.path === row.field);
    expect(error?.message, res.text).toMatch(row.message);
    expect(await h.snapshot()).toEqual(before);
  });

  it("still registers loopback, private and hostname URLs, and a real CA", async () => {
    const ok = [
      await h.call("POST", S, { name: "lo", url: "http://127.0.0.1:9/", snapshot: false }),
      await h.call("POST", S, { name: "lan", url: "http://10.0.0.9:8080/events", snapshot: false }),
      await h.call("POST", S, { name: "meta", url: "http://metadata.google.internal/", snapshot: false }),
      await h.call("POST", C, { name: "tls", server: "https://10.0.0.5:6443", token: "t", caData: CA_DATA }),
      await h.call("POST", C, { name: "plain", server: "http://127.0.0.1:8080" }),
      await h.call("POST", C, { name: "kc", kubeconfig: KUBECONFIG }),
      await h.call("POST", SEED, { ...SEED_OK, KubeURL: "http://127.0.0.1:8080", ServerURL: ["http://127.0.0.1:9/"] }),
    ];
    expect(ok.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201, 201]);
  });
});

describe("with a policy that also denies loopback", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ egress: new EgressPolicy({ deny: [...DEFAULT_EGRESS_DENY, "127.0.0.0/8", "::1/128"] }) });
  });
  afterAll(async () => {
    await h.close();
  });

  it.each(["http://127.0.0.1:9/", "http://0x7f000001/", "http://2130706433/", "http://[::1]:9/"])(
    "refuses the server url %s",
    async (url) => {
      const res = await h.call("POST", S, { name: "s", url, snapshot: false });
      expect(res.status, res.text).toBe(400);
      expect(res.body.errors).toEqual([{ path: "url", message: expect.stringMatching(/denied range/) }]);
    },
  );

  it("answers a test ping to a hostname that resolves into a denied range with the refusal, not the target's answer", async () => {
    const receiver = await startReceiver();
    try {
      const url = receiver.url.replace("127.0.0.1", "localhost");
      expect((await h.call("POST", S, { name: "sneaky", url, snapshot: false })).status).toBe(201);
      const res = await h.call("POST", "/api/v1/servers/sneaky/test");
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ ok: false, status: 0, error: "egress denied" });
      expect(receiver.requests).toHaveLength(0);
    } finally {
      await receiver.close();
    }
  });
});
