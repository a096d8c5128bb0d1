import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { SessionkitStore } from "@sessionkit/core";
import express from "express";
import session from "express-session";

/** The fields the test app keeps in a session (typed locally: a library must not augment its users' types). */
type AppSession = Express.Request["session"] & { views?: number; user?: string };
const sessionOf = (req: express.Request) => req.session as AppSession;

export interface TestApp {
  url: string;
  close(): Promise<void>;
}

/** Starts a real express 5 + express-session app over the store, on a free loopback port. */
export async function startTestApp(store: SessionkitStore, cookie: { maxAge: number }): Promise<TestApp> {
  const app = express();
  app.use(
    session({
      store,
      secret: "conformance-secret",
      resave: false,
      saveUninitialized: false,
      cookie,
    }),
  );
  // Counts visits: modifies the session, so express-session calls store.set. `?maxAge=ms`
  // gives this session its own lifetime (one app serves every case: express-session binds a
  // store to the last middleware created over it, so one store can't serve two apps).
  app.get("/count", (req, res) => {
    const s = sessionOf(req);
    const maxAge = Number(req.query.maxAge);
    if (maxAge > 0) s.cookie.maxAge = maxAge;
    s.views = (s.views ?? 0) + 1;
    res.json({ views: s.views, user: s.user ?? null, id: req.sessionID });
  });
  // Reads without modifying, so express-session calls store.touch (when the session exists),
  // with the expiry moved to now + the session's maxAge.
  app.get("/peek", (req, res) => {
    const s = sessionOf(req);
    res.json({ views: s.views ?? 0, user: s.user ?? null, id: req.sessionID });
  });
  // Logs in: a new session id for the same visitor (protects against fixation).
  app.post("/login/:user", (req, res, next) => {
    const views = sessionOf(req).views;
    req.session.regenerate((err) => {
      if (err) return next(err);
      const s = sessionOf(req);
      s.user = req.params.user;
      s.views = views;
      res.json({ user: req.params.user, id: req.sessionID });
    });
  });
  app.post("/logout", (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.json({ ok: true })));
  });
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: err.message, code: (err as { code?: string }).code });
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
