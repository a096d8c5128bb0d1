import type { SessionData } from "./options.js";

/** Seconds, or a function of the session that returns seconds. */
export type Ttl = number | ((session: SessionData) => number);

/**
 * When a session expires, in epoch ms: its cookie's `expires` when it has one (express-session
 * sets it from `maxAge`), otherwise now + ttl. A ttl function returning a bad value falls back
 * to the default rather than storing a session that never (or always) expires.
 */
export function expiryOf(session: SessionData, ttl: Ttl, defaultTtlSeconds: number, now: number): number {
  const expires = session.cookie?.expires;
  if (expires != null) {
    const at = expires instanceof Date ? expires.getTime() : Date.parse(String(expires));
    if (Number.isFinite(at)) return at;
  }
  const seconds = typeof ttl === "function" ? ttl(session) : ttl;
  const valid = typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0;
  return now + (valid ? seconds : defaultTtlSeconds) * 1000;
}
