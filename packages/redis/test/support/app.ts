import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import session, { type Store } from "express-session";

type AppSession = Express.Request["session"] & { views?: number; user?: string };

/** A running express 5 + express-session app over `store` on a free loopback port. */
export interface App {
  url: string;
  close(): Promise<void>;
}

/**
 * The same small app whichever store it runs on (connect-redis or sessionkit), as an app whose
 * session store is switched between deploys: same secret, same cookie, same routes.
 */
export async function startApp(store: Store): Promise<App> {
  const app = express();
  app.use(
    session({
      store,
      secret: "switch-stores-secret",
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 3_600_000 },
    }),
  );
  app.post("/login/:user", (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err);
      (req.session as AppSession).user = req.params.user;
      (req.session as AppSession).views = 0;
      res.json({ user: req.params.user, id: req.sessionID });
    });
  });
  // Changes the session: the store's set.
  app.post("/count", (req, res) => {
    const s = req.session as AppSession;
    s.views = (s.views ?? 0) + 1;
    res.json({ user: s.user ?? null, views: s.views });
  });
  // Reads it: the store's get, then touch.
  app.get("/me", (req, res) => {
    const s = req.session as AppSession;
    res.json({ user: s.user ?? null, views: s.views ?? null, id: req.sessionID });
  });
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: err.message, code: (err as { code?: string }).code });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
