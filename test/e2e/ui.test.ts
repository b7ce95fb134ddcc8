import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import {
  type Receiver,
  type TestServer,
  openSse,
  startNats,
  startReceiver,
  startRedis,
  waitFor,
} from "@mcic/core/testing";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { launchChromium } from "../support/browser.js";
import { type Stack, startStack } from "../support/stack.js";
import { caDataOf, selfSignedCert } from "../support/tls.js";

const INGRESSES = "networking.k8s.io/v1/ingresses";
const TOKEN = "ui-token";
/** Where the screenshot goes: UI_SCREENSHOT=docs/ui-status-page.png refreshes the one in docs/. */
const SCREENSHOT = process.env.UI_SCREENSHOT
  ? resolve(process.env.UI_SCREENSHOT)
  : join(tmpdir(), "mcic-ui-status-page.png");
/** Set by the hostile object name below if the page ever ran it as HTML. */
const HOSTILE = `x<img src=x onerror="window.__mcicXss=1">`;

const ingress = (namespace: string, name: string) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { namespace, name, labels: { app: "web" } },
  spec: { rules: [{ host: `${name}.example.com` }] },
});

describe("the /ui status page and /swagger in a real browser against a stack with kube-sim", () => {
  let nats: TestServer;
  let redis: TestServer;
  let sim: KubeSim;
  let stack: Stack;
  let receiver: Receiver;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const elsewhere: string[] = [];
  const problems: string[] = [];
  const tls = selfSignedCert();

  beforeAll(async () => {
    [nats, redis, sim, receiver] = await Promise.all([
      startNats(),
      startRedis(),
      KubeSim.start({ tokens: ["sim-token"], tls }),
      startReceiver(),
    ]);
    [stack, browser] = await Promise.all([
      startStack({ natsUrl: nats.url, redisUrl: redis.url, tokens: [TOKEN] }),
      launchChromium(),
    ]);
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    // Offline: anything not served by the API is refused (and remembered).
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.origin === stack.apiUrl) return route.continue();
      elsewhere.push(url.href);
      return route.abort();
    });
    page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().includes("401")) problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await stack?.stop();
    await receiver?.close();
    await sim?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it("serves the page and its files without a token, under a 'self'-only CSP", async () => {
    for (const path of ["/ui", "/ui/app.js", "/ui/live.js", "/ui/style.css"]) {
      const res = await fetch(`${stack.apiUrl}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-security-policy")).toMatch(
        /^default-src 'self'; script-src 'self'; style-src 'self';/,
      );
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
    expect((await fetch(`${stack.apiUrl}/ui/style.css`)).headers.get("content-type")).toMatch(/^text\/css/);
    expect((await fetch(`${stack.apiUrl}/ui/app.js`)).headers.get("content-type")).toMatch(/^text\/javascript/);
    expect((await fetch(`${stack.apiUrl}/ui/page.js`)).status).toBe(404);
    expect((await fetch(`${stack.apiUrl}/ui/..%2Fmain.js`)).status).toBe(404);
    // The data behind it still needs the token.
    expect((await fetch(`${stack.apiUrl}/api/v1/stats`)).status).toBe(401);
    expect((await fetch(`${stack.apiUrl}/api/v1/events/stream`)).status).toBe(401);
  });

  it("asks for the token, then shows clusters, servers, a moving event count and a tail line per change", async () => {
    const sc = sim.cluster("sim");
    sc.create(INGRESSES, ingress("shop", "existing"));
    expect(
      (
        await stack.api("/api/v1/clusters", {
          body: { name: "sim", server: sc.url, token: "sim-token", caData: caDataOf(tls) },
        })
      ).status,
    ).toBe(201);
    expect((await stack.api("/api/v1/servers", { body: { name: "receiver", url: receiver.url } })).status).toBe(201);

    await page.goto(`${stack.apiUrl}/ui`);
    await page.locator("#login").waitFor({ state: "visible", timeout: 15_000 });
    await page.locator("#token-input").fill(TOKEN);
    await page.locator("#login button[type=submit]").click();
    await page.locator("#main").waitFor({ state: "visible" });
    expect(await page.evaluate('sessionStorage.getItem("mcic.token")')).toBe(TOKEN);

    const clusterRow = page.locator("#clusters tbody tr", { hasText: "sim" });
    await expect.poll(() => clusterRow.locator("td").nth(1).textContent(), { timeout: 20_000 }).toBe("watching");
    expect(await clusterRow.textContent()).toContain("networking.k8s.io/v1/ingresses");
    const serverRow = page.locator("#servers tbody tr", { hasText: "receiver" });
    await expect.poll(() => serverRow.locator("td").nth(2).textContent(), { timeout: 10_000 }).toBe("active");
    expect(await serverRow.textContent()).toContain(receiver.url);
    await expect.poll(() => page.locator("#live").textContent(), { timeout: 10_000 }).toBe("live");

    const seen = async () => Number(await page.locator("#event-count").textContent());
    const before = await seen();
    sc.create(INGRESSES, ingress("shop", "web"));
    const line = page.locator("#tail tbody tr", { hasText: "shop/web" });
    await line.waitFor({ timeout: 15_000 });
    expect(await line.textContent()).toContain("ADDED");
    expect(await line.textContent()).toContain("sim");
    await expect.poll(seen, { timeout: 10_000 }).toBeGreaterThan(before);

    const afterAdd = await seen();
    const web = sc.get(INGRESSES, "shop", "web");
    sc.update(INGRESSES, { ...web, spec: { rules: [{ host: "web-v2.example.com" }] } });
    await page.locator("#tail tbody tr", { hasText: "MODIFIED" }).first().waitFor({ timeout: 15_000 });
    await expect.poll(seen, { timeout: 10_000 }).toBeGreaterThan(afterAdd);

    // The tail filter narrows what is shown, client-side.
    await page.locator("#tail-type").selectOption("MODIFIED");
    await expect.poll(() => page.locator("#tail tbody tr", { hasText: "ADDED" }).count()).toBe(0);
    await page.locator("#tail-type").selectOption("");
    await page.locator("#tail-filter").fill("no-such-object");
    await expect.poll(() => page.locator("#tail tbody").textContent()).toContain("No event matches the filter.");
    await page.locator("#tail-filter").fill("");

    // The server's delivery status comes from the dispatcher: deliveries show up in its row.
    await receiver.waitForCount(2);
    await expect.poll(() => serverRow.locator("td").nth(3).textContent(), { timeout: 15_000 }).toBe("100.0 %");
  }, 120_000);

  it("shows a hostile object name as text and never runs it", async () => {
    const sc = sim.cluster("sim");
    sc.create(INGRESSES, ingress("shop", HOSTILE));
    const line = page.locator("#tail tbody tr", { hasText: "onerror" });
    await line.waitFor({ timeout: 15_000 });
    expect(await line.locator("td").nth(4).textContent()).toBe(`shop/${HOSTILE}`);
    expect(await page.locator("#tail img").count()).toBe(0);
    expect(await page.evaluate("window.__mcicXss")).toBeUndefined();
  }, 60_000);

  it("keeps the token for the tab across a reload, and has made no request elsewhere and no error", async () => {
    // A little traffic so the chart in the screenshot moves.
    const sc = sim.cluster("sim");
    for (let i = 0; i < 12; i++) {
      sc.create(INGRESSES, ingress(i % 2 ? "blog" : "shop", `app-${i}`));
      await new Promise((r) => setTimeout(r, 150));
    }
    await page.reload();
    await page.locator("#main").waitFor({ state: "visible" });
    expect(await page.locator("#login").isHidden()).toBe(true);
    await expect.poll(() => page.locator("#live").textContent(), { timeout: 10_000 }).toBe("live");
    for (let i = 0; i < 10; i++) {
      const obj = sc.get(INGRESSES, i % 2 ? "blog" : "shop", `app-${i}`);
      sc.update(INGRESSES, { ...obj, spec: { rules: [{ host: `app-${i}-v2.example.com` }] } });
      await new Promise((r) => setTimeout(r, 250));
    }
    await page.locator("#tail tbody tr", { hasText: "app-9" }).first().waitFor({ timeout: 15_000 });
    await waitFor(async () => Number(await page.locator("#event-count").textContent()) >= 10, {
      message: "the page to count the updates",
    });
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
  }, 60_000);

  it("serves Swagger UI offline: every operation rendered, authorized with the token, Try it out answered", async () => {
    const doc = (await stack.api("/openapi.json")).body as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    const swagger = await browser.newContext();
    const outside: string[] = [];
    const errors: string[] = [];
    await swagger.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.origin === stack.apiUrl) return route.continue();
      outside.push(url.href);
      return route.abort();
    });
    const docs = await swagger.newPage();
    docs.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    docs.on("pageerror", (e) => errors.push(e.message));

    await docs.goto(`${stack.apiUrl}/swagger`);
    await docs.locator(".opblock").first().waitFor({ timeout: 15_000 });
    const paths = (await docs.locator(".opblock-summary-path").allTextContents()).map((p) =>
      p.replace(/\u200b/g, "").trim(),
    );
    expect(paths).toContain("/api/v1/clusters");
    expect(paths).toContain("/api/v1/servers/{name}/dead-letters/replay");
    expect(paths).toContain("/cic/nitro/v1/config/controller");
    expect(paths).toHaveLength(operations);

    await docs.locator("button.authorize").first().click();
    await docs.locator(".auth-container input").first().fill(TOKEN);
    await docs.locator(".auth-btn-wrapper button.authorize").click();
    await docs.locator(".auth-btn-wrapper button.btn-done").click();

    const op = docs.locator("#operations-clusters-listClusters");
    await op.locator(".opblock-summary").click();
    await op.locator("button.try-out__btn").click();
    await op.locator("button.execute").click();
    const status = op.locator(".live-responses-table tbody .response-col_status").first();
    await expect.poll(async () => (await status.textContent())?.trim(), { timeout: 10_000 }).toBe("200");
    expect(await op.locator(".live-responses-table tbody .response-col_description").first().textContent()).toContain(
      '"sim"',
    );

    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    await swagger.close();
  }, 60_000);

  it("stops the API within 10 s on SIGTERM although streams are open (the page's and another)", async () => {
    const tail = await openSse(`${stack.apiUrl}/api/v1/events/stream`, { authorization: `Bearer ${TOKEN}` });
    expect(tail.status).toBe(200);
    await expect.poll(() => page.locator("#live").textContent(), { timeout: 10_000 }).toBe("live");
    const started = Date.now();
    expect(await stack.services.api.kill("SIGTERM")).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    await tail.ended;
    await expect.poll(() => page.locator("#live").textContent(), { timeout: 10_000 }).toBe("reconnecting");
  }, 60_000);
});
