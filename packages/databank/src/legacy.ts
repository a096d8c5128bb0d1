import { cookieExpiry, isSessionObject } from "@sessionkit/core/kit";

/**
 * connect-databank 1.0.3's layout, read and written in place. It stores the express-session
 * object itself under the `session` type, keyed by session id, with the id added as `sid` (when
 * the session had none), and knows one expiry: `cookie.expires` (`null` for a browser-session
 * cookie: kept forever). It reads `session.cookie.expires` of every record it meets, so a record
 * without a `cookie` object makes it throw (and, in its `get`, end the process).
 */

/** The field under which sessionkit keeps its own view of a record inside the session object. */
export const META = "_sessionkit";

type Bag = Record<string, unknown>;

/**
 * Whether `value` is a record connect-databank wrote: an express-session object as JSON
 * (a `cookie` object whose `originalMaxAge` is a number or null and whose `expires` is null or a
 * date), with connect-databank's `sid`, and no sessionkit field. Anything else under the session
 * type is not a session.
 */
export function isConnectDatabankRecord(value: unknown): value is Bag & { sid: string; cookie: Bag } {
  if (!isSessionObject(value) || typeof value.sid !== "string" || Object.hasOwn(value, META)) return false;
  const { originalMaxAge, expires } = value.cookie;
  if (!(originalMaxAge === null || typeof originalMaxAge === "number")) return false;
  return expires === null || (typeof expires === "string" && Number.isFinite(Date.parse(expires)));
}

/** A record of sessionkit's databank adapter 0.1 (`{ sessionkit: 1, sid, payload, expiresAt, owner }`). */
export function isVersion1Record(
  value: unknown,
): value is { sid: string; payload: string; expiresAt: number; owner: string | null } {
  const v = value as Bag | null;
  return (
    typeof v === "object" &&
    v !== null &&
    v.sessionkit === 1 &&
    typeof v.sid === "string" &&
    typeof v.payload === "string" &&
    Number.isFinite(v.expiresAt) &&
    (v.owner === null || typeof v.owner === "string")
  );
}

/**
 * The payload of a connect-databank record, or of one sessionkit wrote in connect-databank's
 * layout: the session object as JSON, without sessionkit's field and without the `sid` that was
 * only added to name the record. `value` is the driver's fresh copy: it is changed in place.
 */
export function sessionPayload(value: Bag, id: string): string {
  delete value[META];
  if (value.sid === id) delete value.sid;
  return JSON.stringify(value);
}

/** The cookie's own expiry of a record in connect-databank's layout (undefined for a browser-session cookie). */
export const legacyExpiry = (value: unknown): number | undefined => cookieExpiry(value);

/**
 * A session in connect-databank's layout, carrying sessionkit's view of it in `META`: the
 * session object as the store serialized it, named by `sid`, with `cookie.expires` moved to the
 * stored expiry when the cookie has one, so connect-databank (after a rollback) expires it when
 * sessionkit would. A browser-session cookie (`expires: null`) stays one: connect-databank keeps
 * it, and express-session keeps sending it as a session cookie. Undefined when the payload is
 * not a session object as JSON (then it is stored as it is, in sessionkit's compact layout).
 */
export function toSessionObject(id: string, payload: string, meta: object, expiresAt: number): Bag | undefined {
  let session: unknown;
  try {
    session = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!isSessionObject(session)) return undefined;
  if (typeof session.cookie.expires === "string") session.cookie.expires = new Date(expiresAt).toISOString();
  if (!Object.hasOwn(session, "sid")) session.sid = id;
  session[META] = meta;
  return session;
}
