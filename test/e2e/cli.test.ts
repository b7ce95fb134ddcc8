import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Receiver,
  type TestServer,
  freePort,
  startNats,
  startReceiver,
  startRedis,
  waitFor,
} from "@mcic/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim, type SimCluster } from "../kube-sim/index.js";
import { type CliResult, runCli, startCli } from "../support/cli.js";
import { type Stack, startStack } from "../support/stack.js";
import { caDataOf, selfSignedCert } from "../support/tls.js";

const INGRESSES = "networking.k8s.io/v1/ingresses";
const API_TOKEN = "cli-api-token";
const SIM_TOKEN = "cli-sim-token";

function ingress(namespace: string, name: string) {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { namespace, name },
    spec: { rules: [{ host: `${name}.example.com` }] },
  };
}

/** The lines of a table after its header, split into cells (kubectl-like: 2+ spaces between cells). */
function rows(table: string): string[][] {
  return table
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split(/\s{2,}/));
}

// Each test runs the CLI several times, and every run starts a Node process: on a machine loaded
// by other suites or benchmarks (load 20 on 2 cores) that alone took past the suite's 30 s default.
describe("mcic CLI against a real stack (api, watcher, dispatcher, kube-sim)", { timeout: 90_000 }, () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let stack: Stack;
  let east: SimCluster;
  let west: SimCluster;
  let receiver: Receiver;
  let refusing: Receiver;
  let dir: string;
  const tls = selfSignedCert();
  let env: Record<string, string>;

  /** `mcic` with the stack's URL and token in the environment, as a user would set them. */
  const mcic = (...args: string[]): Promise<CliResult> => runCli(args, env);

  beforeAll(async () => {
    [nats, redis, sim, receiver, refusing] = await Promise.all([
      startNats(),
      startRedis(),
      KubeSim.start({ tokens: [SIM_TOKEN], tls }),
      startReceiver(),
      startReceiver(),
    ]);
    refusing.respond = () => ({ status: 400 });
    stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url, tokens: [API_TOKEN], startTimeoutMs: 60_000 });
    env = { MCIC_API: stack.apiUrl, MCIC_TOKEN: API_TOKEN };
    east = sim.cluster("east");
    west = sim.cluster("west");
    dir = mkdtempSync(join(tmpdir(), "mcic-cli-"));
    writeFileSync(
      join(dir, "east.kubeconfig"),
      [
        "apiVersion: v1",
        "kind: Config",
        "current-context: sim-east",
        "clusters:",
        "- name: sim",
        "  cluster:",
        `    server: ${JSON.stringify(east.url)}`,
        `    certificate-authority-data: ${caDataOf(tls)}`,
        "contexts:",
        "- name: sim-east",
        "  context: {cluster: sim, user: sa}",
        "users:",
        "- name: sa",
        `  user: {token: ${JSON.stringify(SIM_TOKEN)}}`,
        "",
      ].join("\n"),
    );
    writeFileSync(join(dir, "token"), `${SIM_TOKEN}\n`);
    writeFileSync(join(dir, "ca.pem"), tls.cert);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await sim?.stop();
    await Promise.all([receiver?.close(), refusing?.close(), nats?.stop(), redis?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function waitWatching(name: string): Promise<void> {
    await waitFor(
      async () => {
        const res = await stack.api(`/api/v1/clusters/${name}`, { token: API_TOKEN });
        return res.body.status?.resources?.every((r: { state: string }) => r.state === "watching");
      },
      { timeoutMs: 20_000, message: `cluster ${name} to be watching` },
    );
  }

  describe("command line mistakes exit 2 with a hint, before any request", () => {
    it("no command prints the help; an unknown command or option is named", async () => {
      const none = await mcic();
      expect(none.code).toBe(2);
      expect(none.stderr).toContain("Usage: mcic");
      const unknown = await mcic("clusterz", "list");
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("error: unknown command 'clusterz'");
      const option = await mcic("cluster", "list", "--colour");
      expect(option.code).toBe(2);
      expect(option.stderr).toContain("error: unknown option '--colour'");
      const format = await mcic("-o", "xml", "cluster", "list");
      expect(format.code).toBe(2);
      expect(format.stderr).toContain("Allowed choices are table, json, yaml");
    });

    it("cluster add needs exactly one of --kubeconfig and --server, and files that exist", async () => {
      const neither = await mcic("cluster", "add", "x");
      expect(neither).toMatchObject({ code: 2, stdout: "" });
      expect(neither.stderr).toContain("error: --kubeconfig or --server is required\nhint: e.g. mcic cluster add");
      const both = await mcic(
        "cluster",
        "add",
        "x",
        "--kubeconfig",
        join(dir, "east.kubeconfig"),
        "--server",
        east.url,
      );
      expect(both.code).toBe(2);
      expect(both.stderr).toContain("error: give either --kubeconfig or --server, not both");
      const mixed = await mcic(
        "cluster",
        "add",
        "x",
        "--kubeconfig",
        join(dir, "east.kubeconfig"),
        "--token-file",
        "t",
      );
      expect(mixed.code).toBe(2);
      expect(mixed.stderr).toContain("--token-file goes with --server");
      const missing = await mcic("cluster", "add", "x", "--kubeconfig", join(dir, "nope.yaml"));
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`error: cannot read --kubeconfig ${join(dir, "nope.yaml")}: no such file`);
      const limit = await mcic("deliveries", "lb", "--limit", "0");
      expect(limit.code).toBe(2);
      expect(limit.stderr).toContain("expected a whole number from 1 to 1000");
      const api = await runCli(["cluster", "list"], { MCIC_API: "ftp://example.com" });
      expect(api.code).toBe(2);
      expect(api.stderr).toContain("error: MCIC_API must be an http:// or https:// URL");
      // None of it reached the API.
      expect((await stack.api("/api/v1/clusters", { token: API_TOKEN })).body).toEqual([]);
    });
  });

  it("an unreachable API is a clear message and exit 1", async () => {
    const port = await freePort();
    const res = await runCli(["cluster", "list"], { MCIC_API: `http://127.0.0.1:${port}` });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe("");
    expect(res.stderr).toMatch(
      new RegExp(`^error: cannot reach the mcic API at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
  });

  it("a missing or wrong token is the API's 401 with a hint, exit 1", async () => {
    const none = await runCli(["cluster", "list"], { MCIC_API: stack.apiUrl });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^error: Unauthorized: /);
    expect(none.stderr).toContain("hint: set the API token with --token or the MCIC_TOKEN environment variable");
    const wrong = await mcic("--token", "not-it", "server", "list");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: Unauthorized: /);
  });

  it("cluster add from a kubeconfig and from --server/--token-file/--ca-file, never printing credentials", async () => {
    const fromKubeconfig = await mcic(
      "cluster",
      "add",
      "east",
      "--kubeconfig",
      join(dir, "east.kubeconfig"),
      "--resources",
      "ingresses",
    );
    expect(fromKubeconfig).toMatchObject({ code: 0, stdout: 'cluster "east" added\n', stderr: "" });
    const fromServer = await mcic(
      "-o",
      "json",
      "cluster",
      "add",
      "west",
      "--server",
      west.url,
      "--token-file",
      join(dir, "token"),
      "--ca-file",
      join(dir, "ca.pem"),
      "--namespaces",
      "shop,blog",
    );
    expect(fromServer.code).toBe(0);
    const created = JSON.parse(fromServer.stdout);
    expect(created).toMatchObject({
      name: "west",
      source: "server",
      credentials: "stored",
      namespaces: ["shop", "blog"],
    });
    for (const out of [fromKubeconfig.stdout, fromServer.stdout]) expect(out).not.toContain(SIM_TOKEN);
    await Promise.all([waitWatching("east"), waitWatching("west")]);
  });

  it("cluster list and get: kubectl-like tables, json and yaml", async () => {
    const table = await mcic("cluster", "list");
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(
      /^NAME\s{3,}STATE\s{3,}RESOURCES\s{3,}NAMESPACES\s{3,}SOURCE\s{3,}AGE$/,
    );
    const listed = rows(table.stdout);
    expect(listed.map((r) => [r[0], r[2], r[3], r[4]])).toEqual([
      ["east", "ingresses", "*", "kubeconfig"],
      ["west", "ingresses", "shop,blog", "server"],
    ]);

    const json = await mcic("cluster", "list", "-o", "json");
    expect(JSON.parse(json.stdout).map((c: { name: string }) => c.name)).toEqual(["east", "west"]);

    const get = await mcic("cluster", "get", "east");
    expect(get.code).toBe(0);
    expect(get.stdout).toContain("RESOURCE");
    expect(get.stdout).toMatch(/networking\.k8s\.io\/v1\/ingresses\s{3,}watching\s/);
    expect(rows(get.stdout.split("\n\n")[0] ?? "")[0]?.slice(0, 2)).toEqual(["east", "watching"]);

    const yaml = await mcic("cluster", "get", "east", "-o", "yaml");
    expect(yaml.stdout).toContain("name: east\n");
    expect(yaml.stdout).toContain("state: watching");
    expect(yaml.stdout).not.toContain(SIM_TOKEN);
  });

  it("bad input: the API's field errors on stderr, exit 1, nothing stored", async () => {
    const res = await mcic("cluster", "add", "Bad_Name", "--server", west.url, "--resources", "no/such/thing/at/all");
    expect(res.code).toBe(1);
    expect(res.stdout).toBe("");
    expect(res.stderr).toMatch(/^error: Bad Request: /);
    expect(res.stderr).toMatch(/\n {2}name: must be a DNS-1123 label/);
    expect(res.stderr).toMatch(/\n {2}resources\.0: /);
    const server = await mcic("server", "add", "lb-x", "--url", "ftp://nowhere");
    expect(server.code).toBe(1);
    expect(server.stderr).toMatch(/\n {2}url: must be an absolute http:\/\/ or https:\/\/ URL/);
    const missing = await mcic("cluster", "get", "nowhere");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: Not Found: cluster "nowhere" does not exist\n');
    const names = JSON.parse((await mcic("-o", "json", "cluster", "list")).stdout).map((c: { name: string }) => c.name);
    expect(names).toEqual(["east", "west"]);
    expect(JSON.parse((await mcic("-o", "json", "server", "list")).stdout)).toEqual([]);
  });

  it("server add shows the generated secret once; list, get and test", async () => {
    const add = await mcic(
      "server",
      "add",
      "lb",
      "--url",
      receiver.url,
      "--cluster",
      "east",
      "--resource",
      "ingresses",
      "--namespace",
      "shop",
      "--expression",
      'event.type != "DELETED"',
      "--header",
      "X-Api-Key=receiver-key",
    );
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/^server "lb" added\nsecret: whsec_[A-Za-z0-9+/=]+\n/);
    const again = await mcic("-o", "json", "server", "get", "lb");
    expect(JSON.parse(again.stdout)).not.toHaveProperty("secret");
    expect(again.stdout).not.toContain("receiver-key");

    const list = await mcic("server", "list");
    expect(list.stdout.split("\n")[0]).toMatch(
      /^NAME\s{3,}URL\s{3,}STATE\s{3,}CLUSTERS\s{3,}RESOURCES\s{3,}NAMESPACES\s{3,}AGE$/,
    );
    expect(rows(list.stdout)[0]?.slice(0, 6)).toEqual(["lb", receiver.url, "enabled", "east", "ingresses", "shop"]);

    const get = await mcic("server", "get", "lb");
    expect(get.stdout).toContain('Expression:       event.type != "DELETED"');
    expect(get.stdout).toMatch(/Dead letters:\s+0/);

    const test = await mcic("server", "test", "lb");
    expect(test).toMatchObject({ code: 0, stderr: "" });
    expect(test.stdout).toMatch(/^ping to "lb": ok \(HTTP 204, \d+ ms\)\n$/);
    expect(receiver.requests.some((r) => r.body.includes("dev.mcic.ping"))).toBe(true);
  });

  it("server test of a server that refuses: the result printed, exit 1", async () => {
    const add = await mcic("server", "add", "refuser", "--url", refusing.url, "--cluster", "east", "--no-snapshot");
    expect(add.code).toBe(0);
    const test = await mcic("server", "test", "refuser");
    expect(test.code).toBe(1);
    expect(test.stdout).toMatch(/^ping to "refuser": failed: HTTP 400 \(\d+ ms\)\n$/);
    expect(test.stderr).toBe('error: the server "refuser" did not accept the test event\n');
    const json = await mcic("-o", "json", "server", "test", "refuser");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, status: 400, error: "HTTP 400" });
  });

  it("tail follows events live; -o json prints envelopes; Ctrl-C exits 0", async () => {
    const tail = startCli(["tail", "--cluster", "east", "--resource", "ingresses"], env);
    const json = startCli(["-o", "json", "tail", "--cluster", "east", "--count", "1"], env);
    try {
      await tail.waitForOutput((_out, err) => err.includes("following events"), "tail to connect");
      await json.waitForOutput((_out, err) => err.includes("following events"), "json tail to connect");
      // The stream is live: a change made once both are connected reaches both.
      await waitFor(
        async () => {
          east.create(INGRESSES, ingress("shop", `web-${Date.now()}`));
          await new Promise((r) => setTimeout(r, 300));
          return /ADDED\s+ingresses\s+shop\/web-\d+\s+\d+/.test(tail.stdout());
        },
        { timeoutMs: 20_000, intervalMs: 500, message: "a tail line for the new ingress" },
      );
      const line = tail.stdout().split("\n")[0] ?? "";
      expect(line).toMatch(/^\d\d:\d\d:\d\d {2}east\s+ADDED\s+ingresses\s+shop\/web-\d+\s+\d+$/);
      const done = await json.exited;
      expect(done.code).toBe(0);
      const envelope = JSON.parse(done.stdout.trim());
      expect(envelope).toMatchObject({ cluster: "east", type: "ADDED", resource: "ingresses", namespace: "shop" });
      tail.child.kill("SIGINT");
      const stopped = await tail.exited;
      expect(stopped.code).toBe(0);
    } finally {
      tail.child.kill("SIGKILL");
      json.child.kill("SIGKILL");
    }
  });

  it("deliveries lists the attempts to a server", async () => {
    east.create(INGRESSES, ingress("shop", "shop-front"));
    await receiver.waitForCount(2, 20_000);
    await waitFor(async () => JSON.parse((await mcic("-o", "json", "deliveries", "lb")).stdout).length > 0, {
      timeoutMs: 20_000,
      message: "a delivery record",
    });
    const table = await mcic("deliveries", "lb");
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(
      /^TIME\s{3,}EVENT\s{3,}ATTEMPT\s{3,}STATUS\s{3,}OUTCOME\s{3,}DURATION\s{3,}ERROR$/,
    );
    const first = rows(table.stdout)[0] ?? [];
    expect(first[1]).toMatch(/^east\//);
    expect(first.slice(2, 5)).toEqual(["1", "204", "delivered"]);
    const none = await mcic("deliveries", "nowhere");
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('error: Not Found: server "nowhere" does not exist');
  });

  it("dead-letters lists what could not be delivered and --replay queues it again", async () => {
    east.create(INGRESSES, ingress("blog", "refused-1"));
    east.create(INGRESSES, ingress("blog", "refused-2"));
    let letters: { id: string }[] = [];
    await waitFor(
      async () => {
        letters = JSON.parse((await mcic("-o", "json", "dead-letters", "refuser")).stdout);
        return letters.length >= 2;
      },
      { timeoutMs: 20_000, message: "two dead letters" },
    );
    const table = await mcic("dead-letters", "refuser");
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s{3,}EVENT\s{3,}STATUS\s{3,}ATTEMPTS\s{3,}ERROR\s{3,}AGE$/);
    expect(rows(table.stdout).map((r) => r[2])).toEqual(letters.map(() => "400"));

    const unknown = await mcic("dead-letters", "refuser", "--replay", "no-such-id");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('ids.0: no dead letter "no-such-id"');

    const one = await mcic("dead-letters", "refuser", "--replay", letters[0]?.id ?? "");
    expect(one).toMatchObject({ code: 0, stdout: "1 dead letter queued for delivery again\n" });
    // Still refused, so it comes back as a new dead letter; waiting for that keeps it out of the race with "all".
    await waitFor(
      async () => {
        const now: { id: string; eventId: string }[] = JSON.parse(
          (await mcic("-o", "json", "dead-letters", "refuser")).stdout,
        );
        return now.length === letters.length && !now.some((l) => l.id === letters[0]?.id);
      },
      { timeoutMs: 20_000, message: "the replayed dead letter to be refused again" },
    );
    refusing.respond = () => ({ status: 200 });
    const all = await mcic("dead-letters", "refuser", "--replay");
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^\d+ dead letters? queued for delivery again\n$/);
    await waitFor(async () => (await mcic("dead-letters", "refuser")).stdout === "no dead letters\n", {
      timeoutMs: 20_000,
      message: "the replayed dead letters to be delivered",
    });
  });

  it("server resync and rotate-secret", async () => {
    const resync = await mcic("server", "resync", "lb");
    expect(resync.code).toBe(0);
    expect(resync.stdout).toMatch(
      /^snapshot requested for "lb" \(request [0-9a-f-]+\)\nCLUSTER +STATE +OBJECTS +REASON\neast +taken +\d+/,
    );
    const rotate = await mcic("server", "rotate-secret", "lb", "--grace", "60");
    expect(rotate.code).toBe(0);
    expect(rotate.stdout).toMatch(/^secret: whsec_[A-Za-z0-9+/=]+\n/);
    expect(rotate.stdout).toMatch(/the previous secret signs too until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
    const bad = await mcic("server", "rotate-secret", "lb", "--grace", "-1");
    expect(bad.code).toBe(2);
  });

  it("status: clusters with the state of each resource, servers with success rate, pending, dead letters", async () => {
    const res = await mcic("status");
    expect(res.code).toBe(0);
    const [clusters, servers] = res.stdout.split("\n\n");
    expect(clusters?.split("\n")[0]).toMatch(
      /^CLUSTER\s{3,}RESOURCE\s{3,}STATE\s{3,}LAST EVENT\s{3,}EVENTS\/S\s{3,}MESSAGE$/,
    );
    expect(rows(clusters ?? "").map((r) => r.slice(0, 3))).toEqual([
      ["east", "ingresses", "watching"],
      ["west", "ingresses", "watching"],
    ]);
    expect(servers?.split("\n")[0]).toMatch(
      /^SERVER\s{3,}STATE\s{3,}SUCCESS\s{3,}DELIVERIES\/S\s{3,}PENDING\s{3,}DEAD LETTERS\s{3,}LAST SUCCESS$/,
    );
    const lb = rows(servers ?? "").find((r) => r[0] === "lb");
    expect(lb?.slice(0, 3)).toEqual(["lb", "active", "100%"]);
    const json = JSON.parse((await mcic("-o", "json", "status")).stdout);
    expect(json.clusters.map((c: { name: string }) => c.name)).toEqual(["east", "west"]);
    expect(json.servers.find((s: { name: string }) => s.name === "lb")).toMatchObject({ successRate: 1 });
  });

  it("server patch and cluster patch change only what they name", async () => {
    const server = await mcic("server", "patch", "lb", "--namespace", "shop,blog");
    expect(server).toMatchObject({ code: 0, stdout: 'server "lb" patched\n' });
    const after = JSON.parse((await mcic("-o", "json", "server", "get", "lb")).stdout);
    expect(after.filters).toMatchObject({ clusters: ["east"], namespaces: ["shop", "blog"] });
    expect(after.filters.expression).toBe('event.type != "DELETED"');

    const cluster = await mcic("cluster", "patch", "west", "--all-namespaces");
    expect(cluster).toMatchObject({ code: 0, stdout: 'cluster "west" patched\n' });
    const west = JSON.parse((await mcic("-o", "json", "cluster", "get", "west")).stdout);
    expect(west).not.toHaveProperty("namespaces");
    expect(west.source).toBe("server");

    const nothing = await mcic("server", "patch", "lb");
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain("error: nothing to change");
    const badJson = await mcic("server", "patch", "lb", "--patch", "{not json");
    expect(badJson.code).toBe(2);
  });

  it("rm deletes a cluster and a server", async () => {
    const cluster = await mcic("cluster", "rm", "west");
    expect(cluster).toMatchObject({ code: 0, stdout: 'cluster "west" deleted\n' });
    const server = await mcic("server", "delete", "refuser");
    expect(server).toMatchObject({ code: 0, stdout: 'server "refuser" deleted\n' });
    const gone = await mcic("cluster", "get", "west");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('cluster "west" does not exist');
  });

  it("completion bash completes commands, subcommands and option values in bash itself", async () => {
    const script = await mcic("completion", "bash");
    expect(script.code).toBe(0);
    writeFileSync(join(dir, "completion.bash"), script.stdout);
    // What bash offers at TAB: the function run with the words typed so far, the last one being completed.
    const complete = async (...words: string[]) => {
      const typed = ["mcic", ...words].map((w) => `'${w}'`).join(" ");
      return execFileSync(
        "bash",
        [
          "-c",
          `source ${join(dir, "completion.bash")}; COMP_WORDS=(${typed}); COMP_CWORD=${words.length}; _mcic; echo "\${COMPREPLY[*]}"`,
        ],
        { encoding: "utf8" },
      ).trim();
    };
    expect(await complete("clu")).toBe("cluster");
    expect((await complete("cluster", "")).split(" ")).toEqual(
      expect.arrayContaining(["add", "list", "get", "rm", "patch"]),
    );
    expect(await complete("server", "rotate-secret", "lb", "--gr")).toBe("--grace");
    expect(await complete("-o", "")).toBe("table json yaml");
    const zsh = await mcic("completion", "zsh");
    expect(zsh.stdout).toContain("#compdef mcic");
    const fish = await mcic("completion", "fish");
    expect(fish.code).toBe(2);
  });
});
