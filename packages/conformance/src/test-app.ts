import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Gates } from "./gates.js";
import { Browser } from "./http-client.js";

/** The HTTP frameworks the store suite runs through. */
export type Framework = "express" | "fastify";

/**
 * A real app over a store, listening on a free loopback port. Every framework's app has the same
 * routes, each answering JSON `{ id, user, views }` (the request's session id, `user` or null, and
 * `views` or 0):
 *
 * - `GET /count[?maxAge=ms]`: counts a visit (changes the session, so it is written). `maxAge`
 *   gives the session a cookie with that lifetime; without it the cookie has no expiry and the
 *   store's `ttl` applies.
 * - `GET /peek`: reads without changing (express-session touches; @fastify/session re-saves).
 * - `POST /login/:user`: regenerates the session (a new id) and puts the user in it.
 * - `POST /logout`: destroys the session.
 * - `POST /slow/:gate[?change=1]`: loads the session, waits at the gate (see `Gates`), then
 *   (with `change`) changes the session, and answers.
 * - the same routes under `/resave`, where the session is written back even when unchanged
 *   (express-session's `resave: true`; @fastify/session does it anyway).
 */
/** Options of `startTestApp`. */
export interface TestAppOptions {
  /** Makes each new session's id. Default: the framework's own generator. */
  genid?: () => string;
}

export interface TestApp {
  readonly framework: Framework;
  readonly url: string;
  /** The session cookie's name. */
  readonly cookieName: string;
  /**
   * Whether a request that doesn't change its session writes it back (`store.set`) rather than
   * touching it: @fastify/session's rolling sessions do, express-session (`resave: false`) touches.
   */
  readonly savesUnchanged: boolean;
  /** The gates `/slow/:gate` waits at. */
  readonly gates: Gates;
  /** A new browser (an empty cookie jar) for this app. */
  browser(): Browser;
  close(): Promise<void>;
}

/** The fields the routes keep in a session. */
export interface AppSession {
  views?: number;
  user?: string;
  note?: string;
}

/** What a route answers. */
export function describeSession(id: string, session: AppSession): { id: string; user: string | null; views: number } {
  return { id, user: session.user ?? null, views: session.views ?? 0 };
}

/** The address of a listening server, and a close that ends its connections. */
export function serverHandle(server: Server): { url: string; close(): Promise<void> } {
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

/** A TestApp record from its parts. */
export function testApp(parts: Omit<TestApp, "browser">): TestApp {
  return { ...parts, browser: () => new Browser(parts.url, parts.cookieName) };
}
