import { mkdirSync } from "node:fs";
import { access, constants } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { serviceGate } from "@sessionkit/conformance";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen } from "../src/server.js";
import { type RunningDemo, type StartHooks, startDemo } from "../src/start.js";
import { Client, Gate, silent, tempDir, testConfig, userOf } from "./support/demo.js";

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
const BACKEND = "sqlite";
const LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const PHONE =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
const TABLET =
  "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

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
  async function demoOn(dir: string, options: { maxAgeMs?: number; hooks?: StartHooks } = {}): Promise<RunningDemo> {
    const config = testConfig(`${tmp.dir}/${dir}`, { backend: BACKEND, maxAgeMs: options.maxAgeMs ?? 3_600_000 });
    const demo = await startDemo(config, silent, options.hooks);
    running.add(demo);
    return demo;
  }
  /** A browser context that calls itself `userAgent`: another device of the same person. */
  const device = (userAgent: string) => browser.newContext({ userAgent });
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
      demo = await startDemo(testConfig(`${tmp.dir}/restart`, { backend: BACKEND, port: Number(port) }), silent);
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

  it("a session past its max age shows as logged out, though the browser still sends its cookie", async () => {
    // The store's clock moves instead of the test waiting: the browser keeps its cookie (its
    // own clock says it is valid), and the server must refuse the session by itself.
    let now = Date.now();
    const maxAgeMs = 60_000;
    const demo = await demoOn("expiry", { maxAgeMs, hooks: { now: () => now } });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await logIn(page, demo.url, "expiring");
      now += maxAgeMs - 1000;
      await page.reload();
      expect(await user(page)).toBe("expiring");

      now += 60_000; // a minute later the cookie's expiry has passed on the server's clock
      expect((await context.cookies()).some((c) => c.name === COOKIE)).toBe(true);
      await page.reload();
      expect(await page.isVisible("#anonymous")).toBe(true);
      expect(await views(page)).toBe(1); // a fresh session, not the old one
      await shot(page, "05-expired");
    } finally {
      await context.close();
    }
  });

  /** The signed-out proof: the page shows no user and offers the login link. */
  async function expectLoggedOut(page: Page): Promise<void> {
    await page.goto(new URL("/", page.url()).href);
    expect(await page.isVisible("#anonymous")).toBe(true);
    expect(await user(page)).toBeNull();
  }

  it("Your sessions: both devices listed, this one marked; the other logged out for good, even mid-request", async () => {
    const gate = new Gate();
    const demo = await demoOn("sessions", { hooks: { slowRequestGate: gate.wait } });
    const laptop = await device(LAPTOP);
    const phone = await device(PHONE);
    try {
      const laptopPage = await laptop.newPage();
      const phonePage = await phone.newPage();
      await logIn(phonePage, demo.url, "grace");
      await logIn(laptopPage, demo.url, "grace");

      await laptopPage.click("#sessions-link");
      await laptopPage.waitForSelector("#sessions");
      const rows = laptopPage.locator("li.session");
      expect(await rows.count()).toBe(2);
      expect(await laptopPage.textContent("li.session.current .device")).toBe("Chrome 131 on Linux");
      expect(await laptopPage.textContent("li.session.current .tag")).toBe("this device");
      expect(await laptopPage.textContent("li.session:not(.current) .device")).toBe("Chrome 131 on Android");
      // The page names sessions by handle, never by id (the cookie's value).
      const html = await laptopPage.content();
      for (const context of [laptop, phone]) {
        const cookie = (await context.cookies()).find((c) => c.name === COOKIE)?.value as string;
        const sid = decodeURIComponent(cookie).slice(2, decodeURIComponent(cookie).lastIndexOf("."));
        expect(sid.length).toBeGreaterThan(20);
        expect(html).not.toContain(sid);
      }
      await shot(laptopPage, "07-your-sessions");

      // The phone is in the middle of a request that loaded its session and will change it.
      const slow = phonePage.goto(`${demo.url}/slow`);
      await gate.arrived;
      await laptopPage.click("li.session:not(.current) button");
      await laptopPage.waitForSelector("#notice");
      expect(await laptopPage.textContent("#notice")).toBe("Logged out 1 other session.");
      expect(await laptopPage.locator("li.session").count()).toBe(1);
      expect(await laptopPage.isVisible("li.session.current")).toBe(true);
      await shot(laptopPage, "08-other-session-logged-out");

      gate.release();
      await slow;
      expect(await user(phonePage)).toBe("grace"); // it had loaded the session before the logout
      await expectLoggedOut(phonePage); // but its late write did not bring the session back
      await phonePage.goto(`${demo.url}/sessions`);
      expect(new URL(phonePage.url()).pathname).toBe("/login");
      await shot(phonePage, "09-phone-logged-out");

      await laptopPage.goto(`${demo.url}/`);
      expect(await user(laptopPage)).toBe("grace");
      expect((await demo.store.sessionsOf("grace")).map((s) => s.session.device)).toEqual([LAPTOP]);
    } finally {
      await Promise.all([laptop.close(), phone.close()]);
    }
  });

  it("Your sessions: log out all others keeps this device and nobody else's sessions", async () => {
    const demo = await demoOn("others");
    const contexts = await Promise.all([device(LAPTOP), device(PHONE), device(TABLET)]);
    const [laptop, phone, tablet] = await Promise.all(contexts.map((c) => c.newPage()));
    // Another user, over plain HTTP: no browser needed to show their session survives.
    const someoneElse = new Client(demo.url);
    try {
      for (const page of [phone, tablet, laptop] as Page[]) await logIn(page, demo.url, "ada");
      await someoneElse.post("/login", { name: "linus" });
      const page = laptop as Page;
      await page.goto(`${demo.url}/sessions`);
      expect(await page.locator("li.session").count()).toBe(3);
      expect(await page.textContent("li.session:has-text('iOS') .device")).toBe("Safari 17 on iOS");

      await page.click("#logout-others");
      await page.waitForSelector("#notice");
      expect(await page.textContent("#notice")).toBe("Logged out 2 other sessions.");
      expect(await page.locator("li.session").count()).toBe(1);
      expect(await page.isVisible("#logout-others")).toBe(false);
      await shot(page, "10-others-logged-out");

      await expectLoggedOut(phone as Page);
      await expectLoggedOut(tablet as Page);
      await page.goto(`${demo.url}/`);
      expect(await user(page)).toBe("ada");
      expect(userOf((await someoneElse.get("/")).text)).toBe("linus");
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  });

  it("a form on another site (another port of the same host) can't log the user out", async () => {
    const demo = await demoOn("cross-site");
    // Same host, other port: the same *site*, so even a SameSite=Lax cookie goes along.
    const attacker = await listen(
      (_req, res) => {
        res.setHeader("content-type", "text/html");
        res.end(`<!doctype html><form method="post" action="${demo.url}/logout-everywhere" id="forged">
<button id="go">Win a prize</button></form>`);
      },
      0,
      "127.0.0.1",
    );
    const context = await device(LAPTOP);
    try {
      const page = await context.newPage();
      await logIn(page, demo.url, "victim");
      await page.goto(attacker.url);
      await Promise.all([page.waitForURL(`${demo.url}/logout-everywhere`), page.click("#go")]);
      expect(await page.textContent("body")).toContain("This form was sent from another site, so nothing was done.");
      await shot(page, "11-cross-site-refused");
      await page.goto(`${demo.url}/`);
      expect(await user(page)).toBe("victim");
      expect(await demo.store.length()).toBe(1);

      // The app's own form still works.
      await page.click("#logout-everywhere");
      await page.waitForSelector("#notice");
      expect(await user(page)).toBeNull();
    } finally {
      await context.close();
      await attacker.close();
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
