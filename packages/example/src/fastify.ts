import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";
import type { SessionkitStore } from "@sessionkit/core";
import Fastify, { type FastifyInstance } from "fastify";
import { crossSiteRefusal, header } from "./cross-site.js";

declare module "fastify" {
  interface Session {
    /** The visit counter of the Fastify example. */
    views?: number;
  }
}

/** Options of `createFastifyApp`. */
export interface FastifyDemoOptions {
  /** The same kind of store the Express app uses: any sessionkit store works with @fastify/session. */
  store: SessionkitStore;
  /** Cookie signing secret, at least 32 characters (@fastify/session's rule). */
  secret: string;
  /** Session cookie lifetime in milliseconds. Default: one day. */
  maxAgeMs?: number;
  /**
   * The cookie's `Secure` flag: `"auto"` (default) sets it on requests that came over HTTPS,
   * directly or through a trusted proxy that sends `X-Forwarded-Proto: https`; `true` always,
   * `false` never.
   */
  secureCookie?: "auto" | boolean;
  /** Fastify's `trustProxy`: whose `X-Forwarded-*` headers count. Default: loopback addresses. */
  trustProxy?: boolean | string[];
}

/**
 * A Fastify 5 app with @fastify/session over a sessionkit store: `GET /count` counts the
 * visits of one session and answers `{ views }`; `POST /count/reset` sets the count back to 0,
 * and is refused (403) when a browser says another site sent it. It does not listen; call
 * `app.listen()`.
 */
export async function createFastifyApp(options: FastifyDemoOptions): Promise<FastifyInstance> {
  const app = Fastify({ trustProxy: options.trustProxy ?? ["loopback"] });
  // Before anything reads the session: a forged request changes nothing.
  app.addHook("onRequest", async (request, reply) => {
    const reason = crossSiteRefusal({
      method: request.method,
      host: request.host,
      origin: header(request.headers.origin),
      secFetchSite: header(request.headers["sec-fetch-site"]),
    });
    if (reason) {
      request.log.warn({ reason }, "cross-site request refused");
      return reply.code(403).send({ error: "cross-site request refused" });
    }
  });
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    store: options.store,
    secret: options.secret,
    cookieName: "sessionkit.sid",
    saveUninitialized: false,
    cookie: {
      maxAge: options.maxAgeMs ?? 86_400_000,
      httpOnly: true,
      sameSite: "lax",
      secure: options.secureCookie ?? "auto",
    },
  });
  app.get("/count", async (request) => {
    const views = (request.session.get("views") ?? 0) + 1;
    request.session.set("views", views);
    return { views };
  });
  app.post("/count/reset", async (request) => {
    request.session.set("views", 0);
    return { views: 0 };
  });
  return app;
}
