import { cookieExpiry, isSessionObject } from "@sessionkit/core/kit";
import type { Found, Meta } from "./schema.js";

/**
 * connect-databank 1.0.3's layout, read and written in place. It stores the express-session
 * object itself under the `session` type, keyed by session id, with the id added as `sid` (when
 * the session had none), and knows one expiry: `cookie.expires` (`null` for a browser-session
 * cookie: kept forever). It reads `session.cookie.expires` of every record it meets, so a record
 * without a `cookie` object makes it throw (and, in its `get`, end the process).
 */

/** The field under which sessionkit keeps its own view of a record. */
export const META = "_sessionkit";

type Bag = Record<string, unknown>;

/**
 * A record without sessionkit's field: connect-databank's (an express-session object as JSON,
 * whose `cookie.originalMaxAge` is a number or null and `cookie.expires` null or a date, with
 * connect-databank's `sid`) or one of this adapter's 0.1 layout (`{ sessionkit: 1, sid,
 * payload, expiresAt, owner }`). Anything else is not a session. No index lists these records.
 */
export function legacyRecord(bag: Bag, id: string, now: number, legacyTtl: number): Found | undefined {
  if (bag.sessionkit === 1) {
    const { payload, expiresAt, owner } = bag;
    if (typeof payload !== "string" || !Number.isFinite(expiresAt) || !(owner === null || typeof owner === "string")) {
      return undefined;
    }
    return { record: { id, payload, expiresAt: expiresAt as number, owner } };
  }
  if (!isSessionObject(bag) || typeof bag.sid !== "string") return undefined;
  const { originalMaxAge, expires } = bag.cookie;
  if (!(originalMaxAge === null || typeof originalMaxAge === "number")) return undefined;
  if (!(expires === null || (typeof expires === "string" && Number.isFinite(Date.parse(expires))))) return undefined;
  const at = cookieExpiry(bag);
  const record = { id, payload: sessionPayload(bag, id), expiresAt: at ?? now + legacyTtl, owner: null };
  return { record, guessed: at === undefined };
}

/**
 * The expiry of a record's own cookie, as connect-databank sees it: for a record in
 * connect-databank's layout always; for a compact one (`compact`) only once connect-databank has
 * saved it (after a rollback: the whole session then, with `originalMaxAge`).
 */
export function cookieView(bag: Bag, compact: boolean): number | undefined {
  if (!isSessionObject(bag) || (compact && !("originalMaxAge" in bag.cookie))) return undefined;
  return cookieExpiry(bag);
}

/** The session object as JSON, without sessionkit's field and the `sid` that only names the record. Changes `bag`. */
export function sessionPayload(bag: Bag, id: string): string {
  delete bag[META];
  if (bag.sid === id) delete bag.sid;
  return JSON.stringify(bag);
}

/**
 * A session in connect-databank's layout with sessionkit's view in `META`. `cookie.expires`
 * follows the stored expiry when the cookie has one, so connect-databank (after a rollback)
 * expires the session when sessionkit would; a browser-session cookie (`null`) stays one.
 * Undefined when the payload is not a session object as JSON (it is then stored compact).
 */
export function toSessionObject(id: string, payload: string, meta: Meta): Bag | undefined {
  let session: unknown;
  try {
    session = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!isSessionObject(session)) return undefined;
  if (typeof session.cookie.expires === "string") session.cookie.expires = new Date(meta.exp).toISOString();
  if (!Object.hasOwn(session, "sid")) session.sid = id;
  session[META] = meta;
  return session;
}
