import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./test-harness.js";

const CHROMIUM = "/usr/bin/chromium";

describe("Swagger UI in a real browser", () => {
  let h: Harness;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: this test needs Debian's chromium (apt-get install -y chromium; .ci/run installs it)`,
      );
    }
    h = await startHarness({ tokens: ["browser-token"] });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it("renders every operation offline, authorizes with the bearer token and runs Try it out", async () => {
    await h.call("POST", "/api/v1/clusters", { name: "from-api", server: "https://k.example:6443" });
    const context = await browser.newContext();
    const elsewhere: string[] = [];
    // Offline: anything not served by the API is refused (and remembered).
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.origin === h.base) return route.continue();
      elsewhere.push(url.href);
      return route.abort();
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));

    await page.goto(`${h.base}/swagger`);
    await page.locator(".opblock").first().waitFor({ timeout: 15_000 });
    const paths = await page.locator(".opblock-summary-path").allTextContents();
    const normalized = paths.map((p) => p.replace(/\u200b/g, "").trim());
    expect(normalized).toContain("/api/v1/clusters");
    expect(normalized).toContain("/api/v1/servers/{name}/dead-letters/replay");
    expect(normalized).toContain("/cic/nitro/v1/config/controller");
    expect(await page.locator(".opblock").count()).toBe(h.api.routes.specs.length);

    // Authorize with the bearer token.
    await page.locator("button.authorize").first().click();
    await page.locator(".auth-container input").first().fill("browser-token");
    await page.locator(".auth-btn-wrapper button.authorize").click();
    await page.locator(".auth-btn-wrapper button.btn-done").click();

    // Try it out: GET /api/v1/clusters from the page, with the token.
    const op = page.locator("#operations-clusters-listClusters");
    await op.locator(".opblock-summary").click();
    await op.locator("button.try-out__btn").click();
    await op.locator("button.execute").click();
    const status = op.locator(".live-responses-table tbody .response-col_status").first();
    await expect.poll(async () => (await status.textContent())?.trim(), { timeout: 10_000 }).toBe("200");
    expect(await op.locator(".live-responses-table tbody .response-col_description").first().textContent()).toContain(
      "from-api",
    );

    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
