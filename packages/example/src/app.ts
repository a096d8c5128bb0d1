import type { SessionkitStore } from "@sessionkit/core";
import express, { type NextFunction, type Request, type Response } from "express";
import session from "express-session";
import type { Logger } from "pino";
import { errorPage, homePage, loginPage } from "./pages.js";

/** Options of `createApp`. */
export interface DemoAppOptions {
  /** The session store. Create it with `owner: sessionOwner` so "log out everywhere" finds every session. */
  store: SessionkitStore;
  /** Cookie signing secret. */
  secret: string;
  /** Session cookie lifetime in milliseconds. Default: one day. */
  maxAgeMs?: number;
  /** Where requests and errors are logged. */
  logger: Logger;
  /** Shown on the home page, e.g. "sqlite (.data/sessions.db)". */
  backendLabel: string;
}

/** The fields this app keeps in a session. */
interface DemoSession {
  views?: number;
  user?: string;
}

const MAX_NAME_LENGTH = 64;

/** The owner of a session for `destroyByOwner`: the logged-in name. Pass it as the store's `owner` option. */
export function sessionOwner(data: Record<string, unknown>): string | undefined {
  return typeof data.user === "string" ? data.user : undefined;
}

function demo(req: Request): DemoSession {
  return req.session as unknown as DemoSession;
}

/** Builds the Express 5 demo app over a store. It does not listen: see `listen` in server.ts. */
export function createApp(options: DemoAppOptions): express.Express {
  const { store, logger } = options;
  const app = express();
  app.disable("x-powered-by");
  app.use(requestLog(logger));
  app.use(express.urlencoded({ extended: false, limit: "4kb" }));
  app.use(
    session({
      store,
      secret: options.secret,
      name: "sessionkit.sid",
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: options.maxAgeMs ?? 86_400_000, httpOnly: true, sameSite: "lax" },
    }),
  );

  // The counter: every visit writes the session, so it exercises get + set on each request.
  app.get("/", (req, res) => {
    const s = demo(req);
    s.views = (s.views ?? 0) + 1;
    const out = Number(req.query.loggedOut);
    const notice =
      Number.isSafeInteger(out) && out >= 0 && req.query.loggedOut !== undefined
        ? `Logged out everywhere: ${out} session${out === 1 ? "" : "s"} ended.`
        : undefined;
    res.type("html").send(homePage({ user: s.user, views: s.views, backend: options.backendLabel, notice }));
  });

  app.get("/login", (req, res) => {
    if (demo(req).user) return res.redirect(303, "/");
    res.type("html").send(loginPage());
  });

  app.post("/login", (req, res, next) => {
    const raw: unknown = req.body?.name;
    const name = typeof raw === "string" ? raw.trim() : "";
    if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
      res
        .status(400)
        .type("html")
        .send(loginPage(`Please enter a name of 1 to ${MAX_NAME_LENGTH} characters.`, name.slice(0, MAX_NAME_LENGTH)));
      return;
    }
    const views = demo(req).views;
    // A new session id on login, so a planted cookie can't ride into the logged-in session.
    req.session.regenerate((err) => {
      if (err) return next(err);
      const s = demo(req);
      s.user = name;
      s.views = views;
      req.session.save((saveErr) => (saveErr ? next(saveErr) : res.redirect(303, "/")));
    });
  });

  app.post("/logout", (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.redirect(303, "/")));
  });

  app.post("/logout-everywhere", async (req, res, next) => {
    const user = demo(req).user;
    if (!user) return res.redirect(303, "/");
    try {
      const ended = await store.destroyByOwner(user);
      logger.info({ ended }, "logged out everywhere");
      // This session was among them; destroying it again stops express-session from saving it back.
      req.session.destroy((err) => (err ? next(err) : res.redirect(303, `/?loggedOut=${ended}`)));
    } catch (error) {
      next(error);
    }
  });

  app.use((_req, res) => {
    res.status(404).type("html").send(errorPage("There is no such page."));
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err }, "request failed");
    if (res.headersSent) return;
    res
      .status(500)
      .type("html")
      .send(errorPage("The server could not handle this request (the details are in its log). Please try again."));
  });

  return app;
}

/** One log line per finished request (never the cookie or session id). */
function requestLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!logger.isLevelEnabled("info")) return next();
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info(
        { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 },
        "request",
      );
    });
    next();
  };
}
