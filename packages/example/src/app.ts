import type { SessionkitStore } from "@sessionkit/core";
import express, { type NextFunction, type Request, type Response } from "express";
import session from "express-session";
import type { Logger } from "pino";
import { crossSiteRefusal, header } from "./cross-site.js";
import { describeDevice, deviceOf, formatMoment, isHandle, SessionHandles } from "./devices.js";
import { errorPage, homePage, loginPage, sessionsPage } from "./pages.js";

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
  /**
   * The cookie's `Secure` flag: `"auto"` (default) sets it on requests that came over HTTPS,
   * directly or through a trusted proxy that sends `X-Forwarded-Proto: https`; `true` always,
   * `false` never.
   */
  secureCookie?: "auto" | boolean;
  /** Express's `trust proxy` setting: whose `X-Forwarded-*` headers count. Default: loopback addresses. */
  trustProxy?: boolean | string[];
  /**
   * A test hook: when given, `GET /slow` loads the session, waits for this promise, then
   * changes the session (a request in flight during a logout). Default: no such route.
   */
  slowRequestGate?: () => Promise<void>;
}

/** The fields this app keeps in a session. */
interface DemoSession {
  views?: number;
  user?: string;
  /** The user agent of the browser that logged in (shown on "Your sessions"). */
  device?: string;
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
  const handles = new SessionHandles(options.secret);
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", options.trustProxy ?? ["loopback"]);
  app.use(requestLog(logger));
  app.use(refuseCrossSite(logger));
  app.use(express.urlencoded({ extended: false, limit: "4kb" }));
  app.use(
    session({
      store,
      secret: options.secret,
      name: "sessionkit.sid",
      resave: false,
      saveUninitialized: false,
      cookie: {
        maxAge: options.maxAgeMs ?? 86_400_000,
        httpOnly: true,
        sameSite: "lax",
        secure: options.secureCookie ?? "auto",
      },
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
      s.device = deviceOf(req.get("user-agent"));
      req.session.save((saveErr) => (saveErr ? next(saveErr) : res.redirect(303, "/")));
    });
  });

  app.post("/logout", (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.redirect(303, "/")));
  });

  // Express 5 passes a rejected async handler's error to the error handler below.
  app.post("/logout-everywhere", async (req, res, next) => {
    const user = demo(req).user;
    if (!user) return res.redirect(303, "/");
    const ended = await store.destroyByOwner(user);
    logger.info({ ended }, "logged out everywhere");
    // This session was among them; destroying it again stops express-session from saving it back.
    req.session.destroy((err) => (err ? next(err) : res.redirect(303, `/?loggedOut=${ended}`)));
  });

  // "Your sessions": every session of the logged-in user, each ended on its own or all others at once.
  app.get("/sessions", async (req, res) => {
    const user = demo(req).user;
    if (!user) return res.redirect(303, "/login");
    const sessions = await store.sessionsOf(user);
    const rows = sessions.map(({ id, session: data, createdAt, lastActiveAt }) => {
      const userAgent = typeof data.device === "string" ? data.device : "unknown device";
      return {
        handle: handles.of(id),
        device: describeDevice(userAgent),
        userAgent,
        createdAt: formatMoment(createdAt),
        lastActiveAt: formatMoment(lastActiveAt),
        current: id === req.sessionID,
      };
    });
    res.type("html").send(sessionsPage({ user, sessions: rows, notice: sessionsNotice(req.query) }));
  });

  app.post("/sessions/logout", async (req, res, next) => {
    const user = demo(req).user;
    if (!user) return res.redirect(303, "/login");
    const handle: unknown = req.body?.session;
    if (!isHandle(handle)) {
      res.status(400).type("html").send(errorPage("That is not a session of yours."));
      return;
    }
    // Found again among the user's own sessions: a handle can only end a session of its user.
    const target = handles.find(await store.sessionsOf(user), handle);
    if (!target) return res.redirect(303, "/sessions?gone=1");
    if (target.id === req.sessionID) {
      req.session.destroy((err) => (err ? next(err) : res.redirect(303, "/")));
      return;
    }
    await store.destroy(target.id);
    logger.info("logged out one other session");
    res.redirect(303, "/sessions?ended=1");
  });

  app.post("/sessions/logout-others", async (req, res) => {
    const user = demo(req).user;
    if (!user) return res.redirect(303, "/login");
    const ended = await store.destroyOthers(user, req.sessionID);
    logger.info({ ended }, "logged out the other sessions");
    res.redirect(303, `/sessions?ended=${ended}`);
  });

  const gate = options.slowRequestGate;
  if (gate) {
    // A request that loaded the session, then takes its time before changing it: a logout that
    // lands meanwhile must stay a logout (the store refuses the late write).
    app.get("/slow", async (req, res) => {
      await gate();
      const s = demo(req);
      s.views = (s.views ?? 0) + 1;
      res.type("html").send(homePage({ user: s.user, views: s.views, backend: options.backendLabel }));
    });
  }

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

/** The notice of the "Your sessions" page after one of its buttons. */
function sessionsNotice(query: Request["query"]): string | undefined {
  if (query.gone !== undefined) return "That session had already ended.";
  const ended = Number(query.ended);
  if (query.ended === undefined || !Number.isSafeInteger(ended) || ended < 0) return undefined;
  return `Logged out ${ended} other session${ended === 1 ? "" : "s"}.`;
}

/** Refuses a form sent from another site (see cross-site.ts) before the session is even loaded. */
function refuseCrossSite(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const reason = crossSiteRefusal({
      method: req.method,
      host: req.host,
      origin: header(req.headers.origin),
      secFetchSite: header(req.headers["sec-fetch-site"]),
    });
    if (!reason) return next();
    logger.warn({ method: req.method, path: req.path, reason }, "cross-site request refused");
    res
      .status(403)
      .type("html")
      .send(errorPage("This form was sent from another site, so nothing was done. Use the form on this site."));
  };
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
