import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import type { Callback } from "./dual-api.js";

/** What express-session's middleware passes to `regenerate`: the request, with its session id. */
interface SessionRequest {
  sessionID: string;
}

interface ExpressStoreClass {
  prototype: { createSession(this: unknown, req: unknown, session: unknown): unknown };
}

let expressStore: ExpressStoreClass | undefined;

/**
 * The part of express-session's abstract `Store` that a store inherits (`regenerate`, `load`,
 * `createSession`, EventEmitter), without depending on express-session: a Fastify app doesn't
 * need it. `createSession` turns stored data into express-session's own `Session` and `Cookie`
 * objects, so it borrows express-session's implementation, which is there whenever
 * express-session is the caller.
 */
export abstract class StoreBase extends EventEmitter {
  /** Set on the store by express-session's middleware: makes a new session on a request. */
  declare generate?: (req: unknown) => void;

  abstract get(sid: string, callback: Callback<unknown>): void;
  abstract destroy(sid: string, callback: Callback<void>): void;

  /** Destroys the request's session and generates a new one (express-session's `req.session.regenerate`). */
  regenerate(req: SessionRequest, callback: (err?: unknown) => void): void {
    this.destroy(req.sessionID, (err) => {
      this.generate?.(req);
      callback(err ?? undefined);
    });
  }

  /** Reads a session and makes it an express-session `Session` (express-session's `req.session.reload`). */
  // biome-ignore lint/suspicious/noExplicitAny: express-session's Session type is its own
  load(sid: string, callback: (err: any, session?: any) => void): void {
    this.get(sid, (err, session) => {
      if (err) return callback(err);
      if (!session) return callback(undefined);
      callback(undefined, this.createSession({ sessionID: sid, sessionStore: this }, session));
    });
  }

  /** express-session's own `Store#createSession` (express-session calls it with data from `get`). */
  // biome-ignore lint/suspicious/noExplicitAny: express-session's request and session types are its own
  createSession(req: any, session: any): any {
    expressStore ??= createRequire(import.meta.url)("express-session").Store as ExpressStoreClass;
    return expressStore.prototype.createSession.call(this, req, session);
  }
}
