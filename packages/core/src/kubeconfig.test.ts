import { beforeAll, describe, expect, it } from "vitest";
import { KubeconfigError } from "./errors.js";
import { parseKubeconfig } from "./kubeconfig.js";
import { TEST_CA_PEM } from "./testing/index.js";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

const CA_PEM = TEST_CA_PEM;
const CERT_PEM = "-----BEGIN CERTIFICATE-----\nMIIBclientFAKE\n-----END CERTIFICATE-----\n";
const KEY_PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIFAKE\n-----END EC PRIVATE KEY-----\n";

/** A kubeconfig with two contexts: "dev" (token, CA data) and "prod" (client certificate). */
const TWO_CONTEXTS = `
apiVersion: v1
kind: Config
current-context: dev
clusters:
  - name: dev-cluster
    cluster:
      server: https://dev.example.com:6443/
      certificate-authority-data: ${b64(CA_PEM)}
  - name: prod-cluster
    cluster:
      server: https://10.0.0.1:6443
      insecure-skip-tls-verify: true
      tls-server-name: kubernetes.default
users:
  - name: dev-user
    user:
      token: dev-token-123
  - name: prod-user
    user:
      client-certificate-data: ${b64(CERT_PEM)}
      client-key-data: ${b64(KEY_PEM)}
contexts:
  - name: dev
    context:
      cluster: dev-cluster
      user: dev-user
      namespace: default
  - name: prod
    context:
      cluster: prod-cluster
      user: prod-user
`;

/** A one-context kubeconfig whose cluster and user entries are given as YAML lines. */
function kubeconfig(opts: { cluster?: string[]; user?: string[]; extra?: string } = {}): string {
  const cluster = opts.cluster ?? ["server: https://k8s.example.com"];
  const user = opts.user ?? ["token: abc"];
  return [
    "apiVersion: v1",
    "kind: Config",
    "current-context: main",
    "clusters:",
    "  - name: c",
    "    cluster:",
    ...cluster.map((l) => `      ${l}`),
    "users:",
    "  - name: u",
    "    user:",
    ...user.map((l) => `      ${l}`),
    "contexts:",
    "  - name: main",
    "    context:",
    "      cluster: c",
    "      user: u",
    opts.extra ?? "",
  ].join("\n");
}

function kubeconfigError(run: () => unknown): KubeconfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(KubeconfigError);
    return err as KubeconfigError;
  }
  throw new Error("expected a KubeconfigError");
}

describe("parseKubeconfig", () => {
  it("uses current-context: token and CA data", () => {
    expect(parseKubeconfig(TWO_CONTEXTS)).toEqual({
      server: "https://dev.example.com:6443",
      token: "dev-token-123",
      caData: CA_PEM,
    });
  });

  it("uses the context it is given: client certificate, insecure-skip-tls-verify, tls-server-name", () => {
    expect(parseKubeconfig(TWO_CONTEXTS, "prod")).toEqual({
      server: "https://10.0.0.1:6443",
      certData: CERT_PEM,
      keyData: KEY_PEM,
      insecureSkipTLSVerify: true,
      tlsServerName: "kubernetes.default",
    });
  });

  it("accepts a context without a user, and a plain http server", () => {
    const text = `
current-context: local
clusters: [{ name: c, cluster: { server: "http://127.0.0.1:8080" } }]
contexts: [{ name: local, context: { cluster: c } }]
`;
    expect(parseKubeconfig(text)).toEqual({ server: "http://127.0.0.1:8080" });
  });

  it("keeps a server path", () => {
    expect(
      parseKubeconfig(kubeconfig({ cluster: ["server: https://rancher.example.com/k8s/clusters/c-1/"] })).server,
    ).toBe("https://rancher.example.com/k8s/clusters/c-1");
  });

  it("leaves out insecure-skip-tls-verify: false", () => {
    const conn = parseKubeconfig(kubeconfig({ cluster: ["server: https://k", "insecure-skip-tls-verify: false"] }));
    expect(conn.insecureSkipTLSVerify).toBeUndefined();
  });

  it.each([
    ["invalid YAML", "clusters: [unclosed", "kubeconfig", /not valid YAML/],
    ["a scalar", "just some text", "kubeconfig", /malformed/],
    ["an empty document", "", "kubeconfig", /malformed/],
    ["a cluster without server", "current-context: a\nclusters: [{name: c, cluster: {}}]", "kubeconfig", /malformed/],
  ])("rejects %s", (_label, text, path, message) => {
    const err = kubeconfigError(() => parseKubeconfig(text));
    expect(err.path).toBe(path);
    expect(err.message).toMatch(message);
    expect(err.status).toBe(400);
  });

  it("asks for a context when there is no current-context", () => {
    const text = TWO_CONTEXTS.replace("current-context: dev\n", "");
    const err = kubeconfigError(() => parseKubeconfig(text));
    expect(err.path).toBe("context");
    expect(err.message).toMatch(/no current-context/);
    // Naming one explicitly works.
    expect(parseKubeconfig(text, "dev").token).toBe("dev-token-123");
  });

  it("rejects an unknown context, naming it", () => {
    const err = kubeconfigError(() => parseKubeconfig(TWO_CONTEXTS, "staging"));
    expect(err.path).toBe("context");
    expect(err.message).toContain('"staging"');
  });

  it("rejects a context whose cluster or user is missing", () => {
    const noCluster = kubeconfig().replace("cluster: c\n", "cluster: other\n");
    expect(kubeconfigError(() => parseKubeconfig(noCluster)).message).toMatch(/cluster "other"/);
    const noUser = kubeconfig().replace("user: u\n", "user: nobody\n");
    expect(kubeconfigError(() => parseKubeconfig(noUser)).message).toMatch(/user "nobody"/);
  });

  it.each([
    [
      "an exec plugin",
      kubeconfig({
        user: ["exec:", "  apiVersion: client.authentication.k8s.io/v1", "  command: aws", "  args: [eks, get-token]"],
      }),
      /exec credential plugins are refused/,
    ],
    [
      "an auth-provider",
      kubeconfig({ user: ["auth-provider:", "  name: gcp", "  config: { access-token: x }"] }),
      /auth-provider plugins are refused/,
    ],
    [
      "a certificate-authority file",
      kubeconfig({ cluster: ["server: https://k", "certificate-authority: /etc/kubernetes/ca.crt"] }),
      /certificate-authority file paths are not supported/,
    ],
    [
      "a client-certificate file",
      kubeconfig({ user: ["client-certificate: /home/me/.kube/me.crt", `client-key-data: ${b64(KEY_PEM)}`] }),
      /file references/,
    ],
    [
      "a client-key file",
      kubeconfig({ user: [`client-certificate-data: ${b64(CERT_PEM)}`, "client-key: /k.pem"] }),
      /file references/,
    ],
    ["a tokenFile", kubeconfig({ user: ["tokenFile: /var/run/secrets/token"] }), /file references/],
    ["an ftp server", kubeconfig({ cluster: ["server: ftp://k8s.example.com"] }), /must be http\(s\)/],
    [
      "a server without scheme",
      kubeconfig({ cluster: ["server: k8s.example.com:6443"] }),
      /must be http\(s\)|invalid server URL/,
    ],
    ["a relative server", kubeconfig({ cluster: ["server: /api"] }), /invalid server URL/],
    ["a certificate without key", kubeconfig({ user: [`client-certificate-data: ${b64(CERT_PEM)}`] }), /together/],
    ["a key without certificate", kubeconfig({ user: [`client-key-data: ${b64(KEY_PEM)}`] }), /together/],
  ])("refuses %s", (_label, text, message) => {
    const err = kubeconfigError(() => parseKubeconfig(text));
    expect(err.path).toBe("kubeconfig");
    expect(err.message).toMatch(message);
  });

  it("refuses an exec plugin even when a token is also present", () => {
    const err = kubeconfigError(() => parseKubeconfig(kubeconfig({ user: ["token: t", "exec:", "  command: sh"] })));
    expect(err.message).toMatch(/exec/);
  });

  it.each([
    [
      "a CA that is not PEM",
      kubeconfig({ cluster: ["server: https://k", `certificate-authority-data: ${b64("ABC")}`] }),
    ],
    [
      "a CA whose PEM block is not a certificate",
      kubeconfig({
        cluster: [
          "server: https://k",
          `certificate-authority-data: ${b64("-----BEGIN CERTIFICATE-----\nMIIBcaFAKE\n-----END CERTIFICATE-----\n")}`,
        ],
      }),
    ],
  ])("refuses %s, naming certificate-authority-data", (_label, text) => {
    const err = kubeconfigError(() => parseKubeconfig(text));
    expect(err.path).toBe("kubeconfig");
    expect(err.message).toMatch(/certificate-authority-data/);
    expect(err.status).toBe(400);
  });

  it.each([
    [
      "certificate-authority-data",
      kubeconfig({ cluster: ["server: https://k", "certificate-authority-data: '%%not base64%%'"] }),
    ],
    ["client-key-data", kubeconfig({ user: [`client-certificate-data: ${b64(CERT_PEM)}`, "client-key-data: 'k*y'"] })],
  ])("refuses %s that is not base64, naming it", (field, text) => {
    const err = kubeconfigError(() => parseKubeconfig(text));
    expect(err.message).toBe(`kubeconfig ${field} is not base64`);
  });

  it("refuses username/password rather than dropping them", () => {
    const err = kubeconfigError(() => parseKubeconfig(kubeconfig({ user: ["username: admin", "password: hunter2"] })));
    expect(err.path).toBe("kubeconfig");
    expect(err.message).toMatch(/username\/password/);
    expect(err.message).not.toContain("hunter2");
  });

  it("refuses a server URL with a user name or password", () => {
    const err = kubeconfigError(() =>
      parseKubeconfig(kubeconfig({ cluster: ["server: https://me:pw@k8s.example.com"] })),
    );
    expect(err.message).toMatch(/user name or password/);
    expect(err.message).not.toContain("pw");
  });

  it("refuses YAML aliases and duplicate keys", () => {
    const aliased = `${kubeconfig()}\nextra: &x [1]\nagain: *x\n`;
    expect(kubeconfigError(() => parseKubeconfig(aliased)).message).toMatch(/alias/);
    const twice = kubeconfig().replace("current-context: main", "current-context: main\ncurrent-context: other");
    expect(kubeconfigError(() => parseKubeconfig(twice)).message).toMatch(/"current-context" twice/);
  });
});

/** Inputs built to make a YAML parser slow; each must be answered (parsed or refused) quickly. */
describe("parseKubeconfig on hostile input", () => {
  // What an input costs a running API: the first parses in a process compile the yaml package's
  // code paths (JIT), a cost that belongs to no input, so it is paid here.
  beforeAll(() => {
    const large = `${TWO_CONTEXTS}\n${Array.from({ length: 120 }, (_, i) => `warm${i}: [a]`).join("\n")}`;
    for (let i = 0; i < 5; i++) parseKubeconfig(large);
  });
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const [name, prev] = [String.fromCharCode(97 + i), String.fromCharCode(96 + i)];
    laughs.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
  }
  const cases: [string, string, RegExp | null][] = [
    ["50,000 keys (488 KB)", Array.from({ length: 50_000 }, (_, i) => `key${i}: 1`).join("\n"), /larger than 64 KiB/],
    [
      "5,000 keys under the size cap",
      Array.from({ length: 5_000 }, (_, i) => `k${i}: 1`).join("\n"),
      /more than 300 lines/,
    ],
    ["deep flow nesting", `${"[".repeat(30_000)}${"]".repeat(30_000)}`, /nested deeper than 64/],
    ["deep block nesting", Array.from({ length: 300 }, (_, i) => `${" ".repeat(i)}a:`).join("\n"), /nested deeper/],
    ["deep compact sequences", `${"- ".repeat(10_000)}a`, /nested deeper/],
    ["billion laughs", laughs.join("\n"), /alias/],
    ["a 60 KB plain string", kubeconfig({ extra: `note: ${"x".repeat(60_000)}` }), null],
    ["a 60 KB quoted string", kubeconfig({ extra: `note: "${"\\u0041".repeat(10_000)}"` }), null],
    ["a 300 KB string", kubeconfig({ extra: `note: ${"x".repeat(300_000)}` }), /larger than 64 KiB/],
    ["1 MiB of flow sequences", `a: [${Array(260_000).fill("[1]").join(",")}]`, /larger than 64 KiB/],
    ["60 KB of flow sequences", `a: [${Array(15_000).fill("[1]").join(",")}]`, /more than 300 lines and flow items/],
    [
      "just under the structure cap",
      `${kubeconfig()}\n${Array.from({ length: 270 }, (_, i) => `k${i}: 1`).join("\n")}`,
      null,
    ],
  ];

  it.each(cases)("%s", (_label, text, refusal) => {
    // CPU time, not wall time: on a shared machine the wall clock also counts the moments this
    // process was not scheduled, and the bound is about the parser's own work.
    const started = process.cpuUsage();
    let error: unknown;
    try {
      parseKubeconfig(text);
    } catch (err) {
      error = err;
    }
    const used = process.cpuUsage(started);
    const ms = (used.user + used.system) / 1000;
    if (refusal) {
      expect(error).toBeInstanceOf(KubeconfigError);
      expect((error as KubeconfigError).message).toMatch(refusal);
    } else {
      expect(error).toBeUndefined();
    }
    expect(ms).toBeLessThan(100);
  });
});
