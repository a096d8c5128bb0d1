import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Browser } from "@sessionkit/conformance";
import type { SessionBackend } from "@sessionkit/core";
import express from "express";
import session from "express-session";
import { expect, it } from "vitest";

type AppSession = session.Session & { user?: string; cart?: string[] };

/**
 * A real express 5 + express-session app whose store can be swapped while it runs, as an app is
 * redeployed on another store: the same cookies keep arriving.
 */
export async function startSwitchApp(store: session.Store) {
  const mount = (on: session.Store) =>
    session({
      store: on,
      secret: "switch-secret",
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 3_600_000 },
    });
  let middleware = mount(store);
  const app = express();
  app.use((req, res, next) => middleware(req, res, next));
  app.post("/login/:user", (req, res, next) =>
    req.session.regenerate((err) => {
      if (err) return next(err);
      Object.assign(req.session, { user: req.params.user, cart: [`welcome-${req.params.user}`, "🍪 naïve"] });
      res.json({ id: req.sessionID });
    }),
  );
  app.post("/add/:item", (req, res) => {
    const s = req.session as AppSession;
    s.cart = [...(s.cart ?? []), req.params.item];
    res.json({ cart: s.cart });
  });
  // Reads without changing: express-session calls the store's touch.
  app.get("/me", (req, res) => {
    const s = req.session as AppSession;
    res.json({ user: s.user ?? null, cart: s.cart ?? [], id: req.sessionID });
  });
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: err.message });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    /** The app redeployed over another store. */
    use(next: session.Store) {
      middleware = mount(next);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SwitchCase {
  /** The other store, on the table. */
  theirs: session.Store;
  /** sessionkit's store over the same table, and its backend. */
  ours: session.Store;
  backend: SessionBackend;
  /** The stored expiry of one session, epoch ms, read from the table. */
  expiryOf(id: string): Promise<number | undefined>;
}

/**
 * Several users logged in on the old store; the app moves to sessionkit (everyone still logged
 * in, data kept, changes work, touches move the expiry), back to the old store (still logged in,
 * the expiry sessionkit wrote kept), then forward again.
 */
export function switchRoundTrip(name: string, make: () => Promise<SwitchCase>, toleranceMs = 0) {
  it(`${name}: old store → sessionkit → old store → sessionkit over real HTTP, nobody logged out`, async () => {
    const c = await make();
    const app = await startSwitchApp(c.theirs);
    try {
      const users = ["ann", "bo", "cy"].map((user) => ({ user, browser: new Browser(app.url) }));
      for (const { user, browser } of users) {
        await browser.request("POST", `/login/${user}`);
        await browser.request("POST", `/add/${user}-old`);
      }
      const me = async (b: Browser) => (await b.request("GET", "/me")).body;

      app.use(c.ours);
      for (const { user, browser } of users) {
        expect(await me(browser)).toMatchObject({ user, cart: [`welcome-${user}`, "🍪 naïve", `${user}-old`] });
        await browser.request("POST", `/add/${user}-ours`);
      }
      const [first] = users;
      const id = first?.browser.sessionId as string;
      // Ten minutes left, then a request: express-session's touch moves it back to an hour.
      await c.backend.touch({ id, expiresAt: Date.now() + 600_000, now: Date.now(), owner: null });
      const before = (await c.expiryOf(id)) as number;
      await me(first?.browser as Browser);
      const touched = (await c.expiryOf(id)) as number;
      expect(touched - before).toBeGreaterThan(40 * 60_000);

      app.use(c.theirs);
      // Read back before the old store writes anything: the expiry sessionkit wrote is what it finds.
      expect(Math.abs(((await c.expiryOf(id)) as number) - touched)).toBeLessThanOrEqual(toleranceMs);
      for (const { user, browser } of users) {
        expect(await me(browser)).toMatchObject({
          user,
          cart: [`welcome-${user}`, "🍪 naïve", `${user}-old`, `${user}-ours`],
        });
        await browser.request("POST", `/add/${user}-back`);
      }

      app.use(c.ours);
      for (const { user, browser } of users) {
        expect((await me(browser)).cart).toEqual([
          `welcome-${user}`,
          "🍪 naïve",
          `${user}-old`,
          `${user}-ours`,
          `${user}-back`,
        ]);
      }
    } finally {
      await app.close();
    }
  });
}
