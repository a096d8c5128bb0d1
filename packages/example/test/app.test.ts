import { createStore, memoryBackend, type SessionkitStore, type StoreOptions } from "@sessionkit/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApp, type DemoAppOptions, sessionOwner } from "../src/app.js";
import { formatMoment, SessionHandles } from "../src/devices.js";
import { type Listening, listen } from "../src/server.js";
import { Client, Gate, SECRET, sessionsOf, silent, userOf, viewsOf } from "./support/demo.js";

let store: SessionkitStore;
let server: Listening;
/** The store's clock: tests move it instead of waiting. */
let now: number;

const LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const PHONE = "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0";

/** The app on a memory store, listening on a free port (replacing the one before, if any). */
async function startApp(
  appOptions: Partial<DemoAppOptions> = {},
  storeOptions: Partial<StoreOptions> = {},
): Promise<void> {
  await server?.close();
  await store?.close();
  store = createStore(memoryBackend(), { owner: sessionOwner, gcInterval: 0, now: () => now, ...storeOptions });
  const app = createApp({ store, secret: SECRET, logger: silent, backendLabel: "memory", ...appOptions });
  server = await listen(app, 0, "127.0.0.1");
}

beforeEach(async () => {
  now = Date.now();
  await startApp();
});
afterEach(async () => {
  await server.close();
  await store.close();
});

async function loggedIn(name: string, userAgent = LAPTOP): Promise<Client> {
  const client = new Client(server.url, { "user-agent": userAgent });
  const res = await client.post("/login", { name });
  expect(res.status).toBe(303);
  expect(res.location).toBe("/");
  return client;
}

describe("the demo app", () => {
  it("counts visits in the session", async () => {
    const client = new Client(server.url);
    for (let i = 1; i <= 3; i++) expect(viewsOf((await client.get("/")).text)).toBe(i);
    expect(await store.length()).toBe(1);
    expect(userOf((await client.get("/")).text)).toBeNull();
  });

  it("shows a login form, logs in by name and keeps the visit count", async () => {
    const client = new Client(server.url);
    expect((await client.get("/login")).text).toContain('<form method="post" action="/login">');
    await client.get("/");
    const before = client.cookie;
    await client.post("/login", { name: "ada" });
    expect(client.cookie).not.toBe(before); // a new session id on login
    const home = await client.get("/");
    expect(userOf(home.text)).toBe("ada");
    expect(viewsOf(home.text)).toBe(2);
    // Logged in: /login sends you home.
    expect((await client.get("/login")).status).toBe(303);
  });

  it("escapes the user's name", async () => {
    const client = await loggedIn(`<script>alert("pwned")</script>`);
    const html = (await client.get("/")).text;
    expect(html).not.toContain("<script>");
    expect(userOf(html)).toBe("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;");
  });

  it("refuses an empty or over-long name and writes no session", async () => {
    const client = new Client(server.url);
    const empty = await client.post("/login", { name: "   " });
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('id="error"');
    const long = await client.post("/login", { name: "x".repeat(65) });
    expect(long.status).toBe(400);
    expect(await store.length()).toBe(0);
  });

  it("logs out", async () => {
    const client = await loggedIn("bob");
    expect((await client.post("/logout")).location).toBe("/");
    expect(await store.length()).toBe(0);
    expect(userOf((await client.get("/")).text)).toBeNull();
  });

  it("logs a user out everywhere, and nobody else", async () => {
    const laptop = await loggedIn("carol");
    const phone = await loggedIn("carol");
    const other = await loggedIn("dave");
    const res = await laptop.post("/logout-everywhere");
    expect(res.location).toBe("/?loggedOut=2");
    const home = await laptop.get(res.location as string);
    expect(home.text).toContain("Logged out everywhere: 2 sessions ended.");
    expect(userOf(home.text)).toBeNull();
    expect(userOf((await phone.get("/")).text)).toBeNull();
    expect(userOf((await other.get("/")).text)).toBe("dave");
  });

  it("ignores log out everywhere from a visitor who is not logged in", async () => {
    await loggedIn("erin");
    const visitor = new Client(server.url);
    expect((await visitor.post("/logout-everywhere")).location).toBe("/");
    expect(await store.length()).toBe(1);
  });

  it("has no /slow route unless a test gives it a gate", async () => {
    expect((await new Client(server.url).get("/slow")).status).toBe(404);
  });

  it("answers 404 with a page for an unknown path", async () => {
    const res = await new Client(server.url).get("/nope");
    expect(res.status).toBe(404);
    expect(res.text).toContain("There is no such page.");
  });

  it("answers 500 with a page, not a stack, when the store fails", async () => {
    const client = await loggedIn("frank");
    await store.close(); // every store call now fails with ERR_SESSION_CLOSED
    const res = await client.get("/");
    expect(res.status).toBe(500);
    expect(res.text).toContain("Something went wrong");
    expect(res.text).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  it("answers 500 with a page when a route's own store call fails (a store without the owner option)", async () => {
    await startApp({}, { owner: undefined });
    const client = await loggedIn("gus");
    for (const res of [
      await client.get("/sessions"),
      await client.post("/sessions/logout-others", {}),
      await client.post("/logout-everywhere", {}),
    ]) {
      expect(res.status).toBe(500);
      expect(res.text).toContain("Something went wrong");
    }
  });
});

describe("Your sessions", () => {
  it("lists the user's sessions with device, creation and last activity, marks this one, and shows no session id", async () => {
    const start = now;
    const phone = await loggedIn("carol", PHONE);
    now += 5 * 60_000;
    const laptop = await loggedIn("carol", LAPTOP);
    const other = await loggedIn("dave");
    now += 60_000;
    await phone.get("/"); // the phone is active again

    const page = await laptop.get("/sessions");
    expect(page.status).toBe(200);
    expect(userOf(page.text)).toBe("carol");
    const rows = sessionsOf(page.text);
    expect(rows).toEqual([
      {
        handle: expect.any(String),
        device: "Firefox 128 on Android",
        current: false,
        created: formatMoment(new Date(start)),
        active: formatMoment(new Date(now)),
      },
      {
        handle: expect.any(String),
        device: "Chrome 131 on Linux",
        current: true,
        created: formatMoment(new Date(start + 5 * 60_000)),
        active: formatMoment(new Date(start + 5 * 60_000)),
      },
    ]);
    expect(page.text).toContain("this device");
    expect(page.text).toContain(`title="${PHONE}"`);
    // No session id, anywhere in the page: they are bearer credentials.
    for (const client of [phone, laptop, other]) expect(page.text).not.toContain(client.sessionId as string);
    for (const id of await store.ids()) expect(page.text).not.toContain(id);
  });

  it("sends a visitor who is not logged in to the login page", async () => {
    expect((await new Client(server.url).get("/sessions")).location).toBe("/login");
    expect((await new Client(server.url).post("/sessions/logout-others")).location).toBe("/login");
    expect((await new Client(server.url).post("/sessions/logout", { session: "a".repeat(16) })).location).toBe(
      "/login",
    );
  });

  it("logs out one other session by its handle, and only that one", async () => {
    const laptop = await loggedIn("carol", LAPTOP);
    const phone = await loggedIn("carol", PHONE);
    const tablet = await loggedIn("carol", "Tablet/1.0");
    const other = await loggedIn("dave");
    const handles = new SessionHandles(SECRET);

    const res = await laptop.post("/sessions/logout", { session: handles.of(phone.sessionId as string) });
    expect(res.location).toBe("/sessions?ended=1");
    expect((await laptop.get(res.location as string)).text).toContain("Logged out 1 other session.");
    expect(userOf((await phone.get("/")).text)).toBeNull();
    expect(userOf((await laptop.get("/")).text)).toBe("carol");
    expect(userOf((await tablet.get("/")).text)).toBe("carol");

    // Another user's session is not "yours", even with its handle.
    const theirs = await laptop.post("/sessions/logout", { session: handles.of(other.sessionId as string) });
    expect(theirs.location).toBe("/sessions?gone=1");
    expect((await laptop.get("/sessions?gone=1")).text).toContain("That session had already ended.");
    expect(userOf((await other.get("/")).text)).toBe("dave");

    // Not a handle at all: refused before any lookup.
    for (const session of ["", "short", "x".repeat(17), `${"a".repeat(15)}!`]) {
      expect((await laptop.post("/sessions/logout", { session })).status).toBe(400);
    }
    expect((await store.sessionsOf("carol")).length).toBe(2);
  });

  it("logs out this device when its own handle is sent", async () => {
    const laptop = await loggedIn("carol");
    const phone = await loggedIn("carol", PHONE);
    const res = await laptop.post("/sessions/logout", {
      session: new SessionHandles(SECRET).of(laptop.sessionId as string),
    });
    expect(res.location).toBe("/");
    expect(userOf((await laptop.get("/")).text)).toBeNull();
    expect(userOf((await phone.get("/")).text)).toBe("carol");
  });

  it("logs out all other sessions and keeps this one", async () => {
    const laptop = await loggedIn("carol", LAPTOP);
    const phone = await loggedIn("carol", PHONE);
    const tablet = await loggedIn("carol", "Tablet/1.0");
    const other = await loggedIn("dave");
    expect(sessionsOf((await laptop.get("/sessions")).text)).toHaveLength(3);

    const res = await laptop.post("/sessions/logout-others");
    expect(res.location).toBe("/sessions?ended=2");
    const page = await laptop.get(res.location as string);
    expect(page.text).toContain("Logged out 2 other sessions.");
    expect(sessionsOf(page.text)).toEqual([expect.objectContaining({ current: true })]);
    expect(page.text).not.toContain('id="logout-others"'); // nothing left to log out
    expect(userOf((await phone.get("/")).text)).toBeNull();
    expect(userOf((await tablet.get("/")).text)).toBeNull();
    expect(userOf((await other.get("/")).text)).toBe("dave");
  });

  it("a request in flight during the logout does not log the session back in", async () => {
    const gate = new Gate();
    await startApp({ slowRequestGate: gate.wait });
    const laptop = await loggedIn("carol", LAPTOP);
    const phone = await loggedIn("carol", PHONE);

    const slow = phone.get("/slow"); // loads the phone's session, then waits at the gate
    await gate.arrived;
    const handle = sessionsOf((await laptop.get("/sessions")).text).find((row) => !row.current)?.handle as string;
    expect((await laptop.post("/sessions/logout", { session: handle })).location).toBe("/sessions?ended=1");
    gate.release();
    const late = await slow;
    expect(late.status).toBe(200);
    expect(userOf(late.text)).toBe("carol"); // it had loaded the session before the logout...

    // ...and its write came too late: the phone stays logged out.
    expect(userOf((await phone.get("/")).text)).toBeNull();
    expect((await store.sessionsOf("carol")).map((s) => s.session.device)).toEqual([LAPTOP]);
  });

  it("the race is real: without tombstones the same late write logs the phone back in", async () => {
    const gate = new Gate();
    await startApp({ slowRequestGate: gate.wait }, { tombstoneTtl: 0 });
    const laptop = await loggedIn("carol", LAPTOP);
    const phone = await loggedIn("carol", PHONE);
    const slow = phone.get("/slow");
    await gate.arrived;
    await laptop.post("/sessions/logout-others");
    gate.release();
    await slow;
    expect(userOf((await phone.get("/")).text)).toBe("carol");
  });
});

describe("cross-site requests", () => {
  const REFUSED: Record<string, string>[] = [
    { "sec-fetch-site": "cross-site" },
    { "sec-fetch-site": "same-site" }, // a sibling subdomain is another origin
    { "sec-fetch-site": "cross-site", origin: "SAME" }, // the browser's word wins over a matching Origin
    { origin: "https://evil.example" },
    { origin: "null" },
  ];
  const ALLOWED: Record<string, string>[] = [
    { "sec-fetch-site": "same-origin" },
    { "sec-fetch-site": "none" },
    { origin: "SAME" },
    {}, // no browser sent it (curl, a script): nothing to forge
  ];
  const withOrigin = (headers: Record<string, string>) =>
    headers.origin === "SAME" ? { ...headers, origin: server.url } : headers;

  it.each(REFUSED)("refuses every form sent with %o, before touching the session", async (headers) => {
    const laptop = await loggedIn("carol");
    const phone = await loggedIn("carol", PHONE);
    const forged = withOrigin(headers);
    const handle = new SessionHandles(SECRET).of(phone.sessionId as string);
    for (const [path, form] of [
      ["/logout", {}],
      ["/logout-everywhere", {}],
      ["/sessions/logout-others", {}],
      ["/sessions/logout", { session: handle }],
      ["/login", { name: "mallory" }],
    ] as const) {
      const res = await laptop.post(path, form, forged);
      expect(res.status, path).toBe(403);
      expect(res.text).toContain("This form was sent from another site, so nothing was done.");
      expect(res.setCookie).toBeNull();
    }
    expect(userOf((await laptop.get("/")).text)).toBe("carol");
    expect(userOf((await phone.get("/")).text)).toBe("carol");
    expect(await store.length()).toBe(2);
    // A GET is never refused: links from other sites keep working.
    expect((await laptop.get("/sessions", forged)).status).toBe(200);
  });

  it.each(ALLOWED)("accepts forms sent with %o", async (headers) => {
    const client = new Client(server.url);
    const login = await client.post("/login", { name: "erin" }, withOrigin(headers));
    expect(login.location).toBe("/");
    expect(userOf((await client.get("/")).text)).toBe("erin");
    expect((await client.post("/logout", {}, withOrigin(headers))).location).toBe("/");
    expect(userOf((await client.get("/")).text)).toBeNull();
  });
});

describe("the cookie's Secure flag", () => {
  const login = async (headers: Record<string, string>) => {
    const res = await new Client(server.url).post(
      "/login",
      { name: "ada" },
      { "sec-fetch-site": "same-origin", ...headers },
    );
    expect(res.location).toBe("/");
    return res.setCookie;
  };
  const HTTPS = { "x-forwarded-proto": "https" };

  it("by default: set when a trusted (loopback) proxy says the request came over HTTPS, not over plain HTTP", async () => {
    expect(await login({})).not.toMatch(/;\s*Secure/i);
    expect(await login(HTTPS)).toMatch(/;\s*Secure/i);
    expect(await login({ "x-forwarded-proto": "http" })).not.toMatch(/;\s*Secure/i);
  });

  it("ignores X-Forwarded-Proto from a proxy it does not trust", async () => {
    await startApp({ trustProxy: false });
    expect(await login(HTTPS)).not.toMatch(/;\s*Secure/i);
    await startApp({ trustProxy: ["10.0.0.0/8"] });
    expect(await login(HTTPS)).not.toMatch(/;\s*Secure/i);
  });

  it("true: always Secure (so no cookie at all over plain HTTP); false: never", async () => {
    await startApp({ secureCookie: true });
    expect(await login(HTTPS)).toMatch(/;\s*Secure/i);
    expect(await login({})).toBeNull();
    await startApp({ secureCookie: false });
    expect(await login(HTTPS)).not.toMatch(/;\s*Secure/i);
  });
});
