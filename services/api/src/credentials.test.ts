import { TEST_CA_PEM, startReceiver } from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_KEY, type Harness, KUBECONFIG, KUBE_TOKEN, startHarness } from "./test-harness.js";

const SERVER_TOKEN = "cluster-bearer-token-77";
const HEADER_VALUE = "receiver-api-key-55";
const SEED_TOKEN = "seed-service-account-token-33";
const GIVEN_SECRET = `whsec_${Buffer.from("given-secret-given-secret-given!!").toString("base64")}`;
const API_TOKEN = "api-token-for-credential-test";
const CA_DATA = Buffer.from(TEST_CA_PEM).toString("base64");

describe("no credential ever leaves the API", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ tokens: [API_TOKEN] });
  });
  afterAll(async () => {
    await h.close();
  });

  it("keeps kubeconfig tokens, client keys, server secrets and header values out of responses and logs", async () => {
    const receiver = await startReceiver();
    const generated: { secret: string; response: string }[] = [];
    try {
      // Clusters in every form, read back every way.
      expect((await h.call("POST", "/api/v1/clusters", { name: "kc", kubeconfig: KUBECONFIG })).status).toBe(201);
      expect(
        (await h.call("POST", "/api/v1/clusters", { name: "cert", kubeconfig: KUBECONFIG, context: "certs" })).status,
      ).toBe(201);
      const tokenCluster = { name: "tok", server: "https://k.example:6443", token: SERVER_TOKEN, caData: CA_DATA };
      expect((await h.call("POST", "/api/v1/clusters", tokenCluster)).status).toBe(201);
      await h.call("PUT", "/api/v1/clusters/tok", { ...tokenCluster, namespaces: ["a"] });
      await h.call("GET", "/api/v1/clusters");
      for (const n of ["kc", "cert", "tok"]) await h.call("GET", `/api/v1/clusters/${n}`);

      // Servers: a given secret is never echoed; a generated one only in its create response.
      const withSecret = { name: "given", url: receiver.url, secret: GIVEN_SECRET, headers: { "X-Key": HEADER_VALUE } };
      const given = await h.call("POST", "/api/v1/servers", { ...withSecret, snapshot: false });
      expect(given.status).toBe(201);
      expect(given.body.secret).toBeUndefined();
      const made = await h.call("POST", "/api/v1/servers", { name: "made", url: receiver.url, snapshot: false });
      generated.push({ secret: made.body.secret, response: made.text });
      await h.call("PUT", "/api/v1/servers/given", { ...withSecret, url: `${receiver.url}?v=2` });
      await h.call("GET", "/api/v1/servers");
      await h.call("GET", "/api/v1/servers/given");
      await h.call("POST", "/api/v1/servers/given/test");
      await h.call("POST", "/api/v1/servers/given/resync");
      await h.call("GET", "/api/v1/servers/given/deliveries");
      await h.call("GET", "/api/v1/servers/given/dead-letters");

      // Seed compatibility: its token, and its generated secrets (shown in the create response only).
      const seed = await h.call("POST", "/cic/nitro/v1/config/controller", {
        ClusterName: "seed",
        KubeURL: "https://10.0.0.5:6443",
        KubeServAcctToken: SEED_TOKEN,
        ServerURL: [receiver.url],
      });
      expect(seed.status).toBe(201);
      generated.push({ secret: seed.body.Servers[0].secret, response: seed.text });
      await h.call("GET", "/cic/nitro/v1/config/controller");
      await h.call("PUT", "/cic/nitro/v1/config/controller", {
        ClusterName: "seed",
        KubeURL: "https://10.0.0.5:6443",
        KubeServAcctToken: SEED_TOKEN,
        ServerURL: [receiver.url],
      });

      // Rejected requests carrying credentials must not echo them either.
      await h.call("POST", "/api/v1/clusters", `{"name": "bad", "token": "${SERVER_TOKEN}"`);
      await h.call("POST", "/api/v1/clusters", `{"name": "bad", "token": ${SERVER_TOKEN}}`);
      await h.call("POST", "/api/v1/clusters", SERVER_TOKEN);
      await h.call("POST", "/api/v1/clusters", { name: "bad", kubeconfig: KUBECONFIG, token: SERVER_TOKEN });
      await h.call("POST", "/api/v1/clusters", { name: "BAD", server: "https://k", token: SERVER_TOKEN });
      await h.call("POST", "/api/v1/servers", { ...withSecret, name: "Bad", secret: `${GIVEN_SECRET}x` });
      await h.call("POST", "/api/v1/servers", { ...withSecret, name: "given" });
      await h.call("POST", "/api/v1/servers", {
        name: "hdr",
        url: "http://x",
        headers: { "X-A": `${HEADER_VALUE}\n` },
      });
      await h.call("POST", "/cic/nitro/v1/config/controller", { ClusterName: "Seed", KubeServAcctToken: SEED_TOKEN });
      await h.call("GET", "/api/v1/clusters", undefined, { authorization: `Bearer ${API_TOKEN}x` });
      // An unexpected failure is logged: the log must not carry what the request held either.
      await h.redis.set("t:{server:broken}:spec", JSON.stringify({ name: "broken", secret: "x" }));
      await h.redis.sadd("t:servers", "broken");
      expect((await h.call("GET", "/api/v1/servers")).status).toBe(500);
      await h.call("GET", "/metrics");
    } finally {
      await receiver.close();
    }

    const responses = h.responses.filter((r) => !generated.some((g) => g.response === r));
    const everything = responses.join("\n") + h.logLines.join("");
    expect(h.logLines.length).toBeGreaterThan(30);
    const secrets = {
      KUBE_TOKEN,
      CLIENT_KEY: "sekret-client-key",
      CLIENT_KEY_B64: Buffer.from(CLIENT_KEY).toString("base64").slice(0, 40),
      SERVER_TOKEN,
      // V8 quotes ten characters of malformed JSON in its message.
      SERVER_TOKEN_START: SERVER_TOKEN.slice(0, 10),
      HEADER_VALUE,
      SEED_TOKEN,
      GIVEN_SECRET: GIVEN_SECRET.slice(6),
      API_TOKEN,
      ...Object.fromEntries(generated.map((g, i) => [`generated ${i}`, g.secret.slice(6)])),
    };
    for (const [what, value] of Object.entries(secrets)) {
      expect(everything.includes(value), `${what} leaked`).toBe(false);
    }
    // Each generated secret was shown exactly once: in the response that created it.
    for (const g of generated) {
      expect(h.responses.filter((r) => r.includes(g.secret.slice(6)))).toEqual([g.response]);
    }
    // And Redis holds none of them in clear.
    const stored = (await h.snapshot()).map(([, dump]) => dump?.toString("latin1") ?? "").join("");
    for (const [what, value] of Object.entries(secrets)) {
      if (what !== "API_TOKEN") expect(stored.includes(value), `${what} stored in clear`).toBe(false);
    }
  });
});
