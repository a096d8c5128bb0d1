import type { Server } from "node:http";
import type { SessionkitStore } from "@sessionkit/core";
import express from "express";
import session from "express-session";
import type { Gates } from "./gates.js";
import {
  type AppSession,
  describeSession,
  serverHandle,
  type TestApp,
  type TestAppOptions,
  testApp,
} from "./test-app.js";

type Session = Express.Request["session"] & AppSession;
const sessionOf = (req: express.Request) => req.session as Session;
const answer = (req: express.Request) => describeSession(req.sessionID, sessionOf(req));

/**
 * The routes of `TestApp` in express 5 + express-session (`resave: false`, `saveUninitialized:
 * false`, cookies without maxAge unless a route sets one), and under `/resave` with `resave: true`.
 */
export async function startExpressApp(
  store: SessionkitStore,
  gates: Gates,
  { genid }: TestAppOptions = {},
): Promise<TestApp> {
  const routes = express.Router();
  routes.get("/count", (req, res) => {
    const s = sessionOf(req);
    const maxAge = Number(req.query.maxAge);
    if (maxAge > 0) s.cookie.maxAge = maxAge;
    s.views = (s.views ?? 0) + 1;
    res.json(answer(req));
  });
  routes.get("/peek", (req, res) => {
    res.json(answer(req));
  });
  routes.post("/login/:user", (req, res, next) => {
    const views = sessionOf(req).views;
    req.session.regenerate((err) => {
      if (err) return next(err);
      const s = sessionOf(req);
      s.user = req.params.user as string;
      if (views !== undefined) s.views = views;
      res.json(answer(req));
    });
  });
  routes.post("/logout", (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.json({ ok: true })));
  });
  routes.post("/slow/:gate", async (req, res, next) => {
    try {
      const before = answer(req);
      await gates.wait(req.params.gate as string);
      if (req.query.change) sessionOf(req).note = "written after the gate";
      res.json(before);
    } catch (err) {
      next(err);
    }
  });

  const options = { store, secret: "conformance-secret", saveUninitialized: false, ...(genid && { genid }) } as const;
  const app = express();
  // Two middlewares over one store: express-session binds the store to the middleware created
  // last (`store.generate`), which is harmless here as both make the same cookies. A request has
  // one session: the second middleware skips a request the first already gave one.
  app.use("/resave", session({ ...options, resave: true }), routes);
  app.use(session({ ...options, resave: false }), routes);
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: err.message, code: (err as { code?: string }).code });
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return testApp({
    framework: "express",
    ...serverHandle(server),
    cookieName: "connect.sid",
    savesUnchanged: false,
    gates,
  });
}
