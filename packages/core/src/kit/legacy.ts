/**
 * Helpers for reading other stores' records in place: those stores keep the express-session
 * object itself, whose `cookie.expires` is the only expiry some of them have.
 */

/** Whether `value` has the shape express-session gives a store: a plain object with a `cookie` object. */
export function isSessionObject(
  value: unknown,
): value is { cookie: Record<string, unknown> } & Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const cookie = (value as { cookie?: unknown }).cookie;
  return cookie !== null && typeof cookie === "object" && !Array.isArray(cookie);
}

/**
 * The epoch-ms expiry of a session object's cookie (`cookie.expires` as a Date, an ISO string or
 * a number), or undefined when it has none (a browser-session cookie) or it can't be read.
 */
export function cookieExpiry(session: unknown): number | undefined {
  if (!isSessionObject(session)) return undefined;
  const expires = session.cookie.expires;
  let at: number;
  if (expires instanceof Date) at = expires.getTime();
  else if (typeof expires === "string") at = Date.parse(expires);
  else if (typeof expires === "number") at = expires;
  else return undefined;
  return Number.isFinite(at) ? at : undefined;
}
