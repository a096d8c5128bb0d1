import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";
import type { SessionkitStore } from "@sessionkit/core";
import Fastify, { type FastifyInstance } from "fastify";

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
}

/**
 * A Fastify 5 app with @fastify/session over a sessionkit store: `GET /count` counts the
 * visits of one session and answers `{ views }`. It does not listen; call `app.listen()`.
 */
export async function createFastifyApp(options: FastifyDemoOptions): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    store: options.store,
    secret: options.secret,
    cookieName: "sessionkit.sid",
    saveUninitialized: false,
    // "auto": Secure over HTTPS, plain over HTTP (the demo runs on http://127.0.0.1).
    cookie: { maxAge: options.maxAgeMs ?? 86_400_000, httpOnly: true, sameSite: "lax", secure: "auto" },
  });
  app.get("/count", async (request) => {
    const views = (request.session.get("views") ?? 0) + 1;
    request.session.set("views", views);
    return { views };
  });
  return app;
}
