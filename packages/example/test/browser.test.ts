import { mkdirSync } from "node:fs";
import { access, constants } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { serviceGate } from "@sessionkit/conformance";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningDemo, startDemo } from "../src/start.js";
import { silent, tempDir, testConfig } from "./support/demo.js";

// Debian's Chromium (`apt-get install chromium`); playwright's own browser downloads don't work here.
const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];
const OUTPUT = fileURLToPath(new URL("../test-output/", import.meta.url));
const COOKIE = "sessionkit.sid";

const skip = await serviceGate("Chromium", () => access(CHROMIUM, constants.X_OK));

describe.skipIf(Boolean(skip))("the demo in Chromium", () => {
  let browser: Browser;
  const tmp = tempDir("browser");
  const running = new Set<RunningDemo>();

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([...running].map((demo) => demo.close()));
    tmp.remove();
  });

  /** The demo on SQLite in `dir`, like `pnpm start` (a file, so it survives a restart). */
  async function demoOn(dir: string, maxAgeMs = 3_600_000): Promise<RunningDemo> {
    const demo = await startDemo(testConfig(`${tmp.dir}/${dir}`, { backend: "sqlite", maxAgeMs }), silent);
    running.add(demo);
    return demo;
  }
  async function stop(demo: RunningDemo): Promise<void> {
    await demo.close();
    running.delete(demo);
  }

  async function logIn(page: Page, url: string, name: string): Promise<void> {
    await page.goto(`${url}/`);
    await page.click("#login-link");
    await page.fill("#name", name);
    await page.click("#submit");
    await page.waitForSelector("#user");
  }
  const views = async (page: Page) => Number(await page.textContent("#views"));
  /** The logged-in name on the page, or null (checked at once: no waiting for an absent element). */
  const user = async (page: Page) => ((await page.locator("#user").count()) ? page.textContent("#user") : null);
  const shot = (page: Page, name: string) => page.screenshot({ path: `${OUTPUT}${name}.png` });

  it("logs in; the counter survives reloads and an app restart", async () => {
    let demo = await demoOn("restart");
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await logIn(page, demo.url, "Ada Lovelace");
      expect(await user(page)).toBe("Ada Lovelace");
      const first = await views(page);
      await page.reload();
      await page.reload();
      expect(await views(page)).toBe(first + 2);
      await shot(page, "01-logged-in");

      // Restart: close the app and its store, then start a new one on the same SQLite file.
      const port = new URL(demo.url).port;
      await stop(demo);
      demo = await startDemo(testConfig(`${tmp.dir}/restart`, { backend: "sqlite", port: Number(port) }), silent);
      running.add(demo);
      await page.goto(`${demo.url}/`);
      expect(await user(page)).toBe("Ada Lovelace");
      expect(await views(page)).toBe(first + 3);
      await shot(page, "02-after-restart");
    } finally {
      await context.close();
    }
  });

  it("log out everywhere logs out the user's other browser too, and nobody else", async () => {
    const demo = await demoOn("everywhere");
    const laptop = await browser.newContext();
    const phone = await browser.newContext();
    const someoneElse = await browser.newContext();
    try {
      const laptopPage = await laptop.newPage();
      const phonePage = await phone.newPage();
      const otherPage = await someoneElse.newPage();
      await logIn(laptopPage, demo.url, "grace");
      await logIn(phonePage, demo.url, "grace");
      await logIn(otherPage, demo.url, "linus");

      await laptopPage.click("#logout-everywhere");
      await laptopPage.waitForSelector("#notice");
      expect(await laptopPage.textContent("#notice")).toBe("Logged out everywhere: 2 sessions ended.");
      expect(await laptopPage.isVisible("#anonymous")).toBe(true);
      await shot(laptopPage, "03-logged-out-everywhere");

      await phonePage.reload();
      expect(await phonePage.isVisible("#anonymous")).toBe(true);
      expect(await user(phonePage)).toBeNull();
      await shot(phonePage, "04-other-browser-logged-out");

      await otherPage.reload();
      expect(await user(otherPage)).toBe("linus");
    } finally {
      await Promise.all([laptop.close(), phone.close(), someoneElse.close()]);
    }
  });

  it("an expired session shows as logged out, even when its cookie is replayed", async () => {
    const maxAgeMs = 1500;
    const demo = await demoOn("expiry", maxAgeMs);
    const context = await browser.newContext();
    const replay: BrowserContext = await browser.newContext();
    try {
      const page = await context.newPage();
      await logIn(page, demo.url, "expiring");
      const cookie = (await context.cookies()).find((c) => c.name === COOKIE);
      expect(cookie).toBeDefined();
      await page.waitForTimeout(maxAgeMs + 700);

      await page.reload();
      expect(await page.isVisible("#anonymous")).toBe(true);
      await shot(page, "05-expired");

      // The browser dropped its cookie; replaying it (no expiry on the browser's side) shows
      // that the server forgot the session too.
      await replay.addCookies([{ name: COOKIE, value: cookie?.value as string, url: demo.url }]);
      const replayed = await replay.newPage();
      await replayed.goto(`${demo.url}/`);
      expect(await replayed.isVisible("#anonymous")).toBe(true);
      expect(await views(replayed)).toBe(1);
    } finally {
      await Promise.all([context.close(), replay.close()]);
    }
  });

  it("shows a name with markup as text and runs none of it", async () => {
    const demo = await demoOn("escaping");
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const dialogs: string[] = [];
      page.on("dialog", (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      const name = `<script>alert("xss")</script><img src=x onerror=alert(1)>`;
      await logIn(page, demo.url, name);
      expect(await user(page)).toBe(name);
      expect(await page.locator("#user script, #user img").count()).toBe(0);
      expect(dialogs).toEqual([]);
      await shot(page, "06-escaped-name");
    } finally {
      await context.close();
    }
  });
});
