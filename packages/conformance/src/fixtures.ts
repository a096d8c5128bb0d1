import type { SessionWrite } from "@sessionkit/core";

let counter = 0;

/** A fresh id unique to this run, so suites sharing a database never collide. */
export function uniqueId(label = "s"): string {
  counter++;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** Ids that trip naive backends: reserved prefixes, path and quote characters, unicode, the maximum length. */
export const awkwardIds: readonly string[] = [
  "_design/sessions",
  "_local",
  "../../etc/passwd",
  "a b\tc",
  "quote'\"`;--",
  "back\\slash",
  "percent%20and?query=1&x#frag",
  "ünïcödé-会话-🍪",
  "x".repeat(255),
];

/** A payload with everything a JSON session may carry: quotes, escapes, astral characters, RTL, newlines. */
export const unicodePayload = JSON.stringify({
  cookie: { expires: null },
  text: 'naïve café — 日本語 — עברית — emoji 🍪👩🏽‍💻 — "quoted" \\back\\ \n\r\t',
  surrogatesEscaped: "\ud83d\ude00",
  controlEscaped: "\u0001\u001f",
});

/** A JSON payload of about `bytes` UTF-8 bytes (mixed one- and multi-byte characters). */
export function largePayload(bytes: number): string {
  const chunk = "0123456789abcdefghijklmnopqrstuvwxyz-é€🍪"; // 36 + 2 + 3 + 4 = 45 bytes
  const body = chunk.repeat(Math.max(1, Math.floor((bytes - 40) / 45)));
  return JSON.stringify({ cookie: { expires: null }, blob: body });
}

/** A session payload as the core stores it (JSON with a cookie), with some fields of its own. */
export function payload(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: "/" }, ...fields });
}

/**
 * An upsert of `id` expiring at `expiresAt`, written at `now` (default: an hour before the
 * expiry, so the record is live when written, as the core always writes it).
 */
export function write(
  id: string,
  expiresAt: number,
  options: { payload?: string; owner?: string | null; now?: number; maxLifetimeMs?: number } = {},
): SessionWrite {
  return {
    id,
    payload: options.payload ?? payload({ n: 1 }),
    expiresAt,
    owner: options.owner ?? null,
    now: options.now ?? expiresAt - 3_600_000,
    ...(options.maxLifetimeMs === undefined ? {} : { maxLifetimeMs: options.maxLifetimeMs }),
  };
}
