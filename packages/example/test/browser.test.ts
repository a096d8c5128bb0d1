import { mkdirSync } from "node:fs";
import { access, constants } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { serviceGate } from "@sessionkit/conformance";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
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
/** Three devices of one person, told apart by their user agents (as "Your sessions" shows them). */
const AGENTS = {
  laptop: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  phone:
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  tablet:
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
};
type Device = keyof typeof AGENTS;

const skip = await serviceGate("Chromium", () => access(CHROMIUM, constants.X_OK));

describe.skipIf(Boolean(skip))("the demo in Chromium", () => {
  let browser: Browser;
  const tmp = tempDir("browser");
  const running = new Set<RunningDemo>();
  // One browser context per device (its own cookie jar, like another browser), and one page in
  // each, made once: a context and its renderer are the slow part of a browser test. Every test
  // starts with empty cookie jars.
  const contexts = {} as Record<Device, BrowserContext>;
  const pages = {} as Record<Device, Page>;

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    for (const device of Object.keys(AGENTS) as Device[]) {
      contexts[device] = await browser.newContext({ userAgent: AGENTS[device] });
      pages[device] = await contexts[device].newPage();
    }
  });
  beforeEach(async () => {
    await Promise.all(Object.values(contexts).map((context) => context.clearCookies()));
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
  /** Clicks `selector` and answers the notice on the page it leads to (once it is there). */
  async function noticeAfter(page: Page, selector: string): Promise<string | null> {
    await page.click(selector);
    await page.waitForSelector("#notice");
    return page.textContent("#notice");
  }
  /** The signed-out proof: the home page shows no user and offers the login link. */
  async function expectLoggedOut(page: Page, url: string): Promise<void> {
    await page.goto(`${url}/`);
    expect(await page.isVisible("#anonymous")).toBe(true);
    expect(await user(page)).toBeNull();
  }

  it("logs in; the counter survives reloads and an app restart", async () => {
    let demo = await demoOn("restart");
    const page = pages.laptop;
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
  });

  it("log out everywhere logs out the user's other browser too, and nobody else", async () => {
    const demo = await demoOn("everywhere");
    const { laptop, phone } = pages;
    const someoneElse = new Client(demo.url); // another user, over plain HTTP
    await logIn(laptop, demo.url, "grace");
    await logIn(phone, demo.url, "grace");
    await someoneElse.post("/login", { name: "linus" });

    expect(await noticeAfter(laptop, "#logout-everywhere")).toBe("Logged out everywhere: 2 sessions ended.");
    expect(await laptop.isVisible("#anonymous")).toBe(true);
    await shot(laptop, "03-logged-out-everywhere");

    await phone.reload();
    expect(await phone.isVisible("#anonymous")).toBe(true);
    expect(await user(phone)).toBeNull();
    await shot(phone, "04-other-browser-logged-out");
    expect(userOf((await someoneElse.get("/")).text)).toBe("linus");
  });

  it("a session past its max age shows as logged out, though the browser still sends its cookie", async () => {
    // The store's clock moves instead of the test waiting: the browser keeps its cookie (its
    // own clock says it is valid), and the server must refuse the session by itself.
    let now = Date.now();
    const maxAgeMs = 60_000;
    const demo = await demoOn("expiry", { maxAgeMs, hooks: { now: () => now } });
    const page = pages.laptop;
    await logIn(page, demo.url, "expiring");
    now += maxAgeMs - 1000;
    await page.reload();
    expect(await user(page)).toBe("expiring");

    now += 60_000; // a minute later the cookie's expiry has passed on the server's clock
    expect((await contexts.laptop.cookies()).some((c) => c.name === COOKIE)).toBe(true);
    await page.reload();
    expect(await page.isVisible("#anonymous")).toBe(true);
    expect(await views(page)).toBe(1); // a fresh session, not the old one
    await shot(page, "05-expired");
  });

  it("Your sessions: both devices listed, this one marked; the other logged out for good, even mid-request", async () => {
    const gate = new Gate();
    const demo = await demoOn("sessions", { hooks: { slowRequestGate: gate.wait } });
    const { laptop, phone } = pages;
    await logIn(phone, demo.url, "grace");
    await logIn(laptop, demo.url, "grace");

    await laptop.click("#sessions-link");
    await laptop.waitForSelector("#sessions");
    expect(await laptop.locator("li.session").count()).toBe(2);
    expect(await laptop.textContent("li.session.current .device")).toBe("Chrome 131 on Linux");
    expect(await laptop.textContent("li.session.current .tag")).toBe("this device");
    expect(await laptop.textContent("li.session:not(.current) .device")).toBe("Chrome 131 on Android");
    // The page names sessions by handle, never by id (the cookie's value).
    const html = await laptop.content();
    for (const context of [contexts.laptop, contexts.phone]) {
      const cookie = decodeURIComponent((await context.cookies()).find((c) => c.name === COOKIE)?.value as string);
      const sid = cookie.slice(2, cookie.lastIndexOf("."));
      expect(sid.length).toBeGreaterThan(20);
      expect(html).not.toContain(sid);
    }
    await shot(laptop, "07-your-sessions");

    // The phone is in the middle of a request that loaded its session and will change it.
    const slow = phone.goto(`${demo.url}/slow`);
    await gate.arrived;
    expect(await noticeAfter(laptop, "li.session:not(.current) button")).toBe("Logged out 1 other session.");
    expect(await laptop.locator("li.session").count()).toBe(1);
    expect(await laptop.isVisible("li.session.current")).toBe(true);
    await shot(laptop, "08-other-session-logged-out");

    gate.release();
    await slow;
    expect(await user(phone)).toBe("grace"); // it had loaded the session before the logout
    await expectLoggedOut(phone, demo.url); // but its late write did not bring the session back
    await phone.goto(`${demo.url}/sessions`);
    expect(new URL(phone.url()).pathname).toBe("/login");
    await shot(phone, "09-phone-logged-out");

    await laptop.goto(`${demo.url}/`);
    expect(await user(laptop)).toBe("grace");
    expect((await demo.store.sessionsOf("grace")).map((s) => s.session.device)).toEqual([AGENTS.laptop]);
  });

  it("Your sessions: log out all others keeps this device and nobody else's sessions", async () => {
    const demo = await demoOn("others");
    const { laptop, phone, tablet } = pages;
    const someoneElse = new Client(demo.url); // another user, over plain HTTP
    for (const page of [phone, tablet, laptop]) await logIn(page, demo.url, "ada");
    await someoneElse.post("/login", { name: "linus" });
    await laptop.goto(`${demo.url}/sessions`);
    expect(await laptop.locator("li.session").count()).toBe(3);
    expect(await laptop.textContent("li.session:has-text('iOS') .device")).toBe("Safari 17 on iOS");

    expect(await noticeAfter(laptop, "#logout-others")).toBe("Logged out 2 other sessions.");
    expect(await laptop.locator("li.session").count()).toBe(1);
    expect(await laptop.isVisible("#logout-others")).toBe(false);
    await shot(laptop, "10-others-logged-out");

    await expectLoggedOut(phone, demo.url);
    await expectLoggedOut(tablet, demo.url);
    await laptop.goto(`${demo.url}/`);
    expect(await user(laptop)).toBe("ada");
    expect(userOf((await someoneElse.get("/")).text)).toBe("linus");
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
    const page = pages.laptop;
    try {
      await logIn(page, demo.url, "victim");
      await page.goto(attacker.url);
      await Promise.all([page.waitForURL(`${demo.url}/logout-everywhere`), page.click("#go")]);
      expect(await page.textContent("body")).toContain("This form was sent from another site, so nothing was done.");
      await shot(page, "11-cross-site-refused");
      await page.goto(`${demo.url}/`);
      expect(await user(page)).toBe("victim");
      expect(await demo.store.length()).toBe(1);

      // The app's own form still works.
      await noticeAfter(page, "#logout-everywhere");
      expect(await user(page)).toBeNull();
    } finally {
      await attacker.close();
    }
  });

  it("shows a name with markup as text and runs none of it", async () => {
    const demo = await demoOn("escaping");
    const page = pages.laptop;
    const dialogs: string[] = [];
    const onDialog = (dialog: import("playwright-core").Dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    };
    page.on("dialog", onDialog);
    try {
      const name = `<script>alert("xss")</script><img src=x onerror=alert(1)>`;
      await logIn(page, demo.url, name);
      expect(await user(page)).toBe(name);
      expect(await page.locator("#user script, #user img").count()).toBe(0);
      await page.goto(`${demo.url}/sessions`);
      expect(await user(page)).toBe(name);
      expect(dialogs).toEqual([]);
      await shot(page, "06-escaped-name");
    } finally {
      page.off("dialog", onDialog);
    }
  });
});
