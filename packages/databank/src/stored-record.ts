import type { SessionRecord } from "@sessionkit/core";

/** How a session is stored: a plain object under the session type, keyed by its id. */
export interface StoredSession {
  /** Marks records written by sessionkit, as opposed to connect-databank's. */
  sessionkit: 1;
  /** The id again: `scan` yields values without their keys (connect-databank stored it the same way). */
  sid: string;
  payload: string;
  expiresAt: number;
  owner: string | null;
}

/** A record read back, with where it came from. */
export interface DecodedRecord extends SessionRecord {
  /** Written by connect-databank: the session object itself, not yet rewritten by us. */
  legacy: boolean;
  /** A legacy record whose cookie has no usable expiry: its `expiresAt` is the fallback. */
  guessedExpiry: boolean;
}

export function toStored(record: SessionRecord): StoredSession {
  return { sessionkit: 1, sid: record.id, payload: record.payload, expiresAt: record.expiresAt, owner: record.owner };
}

export function isStored(value: unknown): value is StoredSession {
  const v = value as Partial<StoredSession> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    v.sessionkit === 1 &&
    typeof v.payload === "string" &&
    typeof v.expiresAt === "number" &&
    (v.owner === null || typeof v.owner === "string")
  );
}

/**
 * Reads one stored value. A connect-databank record is the session object itself: its payload
 * is that object as JSON and its expiry is `cookie.expires`; a browser-session cookie (no
 * expiry) gets `now + legacyTtl`, the same answer connect-databank gave ("not expired") but bounded.
 */
export function decode(id: string, value: unknown, now: number, legacyTtl: number): DecodedRecord {
  if (isStored(value)) {
    return {
      id,
      payload: value.payload,
      expiresAt: value.expiresAt,
      owner: value.owner,
      legacy: false,
      guessedExpiry: false,
    };
  }
  const expires = cookieExpiry(value);
  return {
    id,
    payload: JSON.stringify(value) ?? "null",
    expiresAt: expires ?? now + legacyTtl,
    owner: null,
    legacy: true,
    guessedExpiry: expires === undefined,
  };
}

/** `decode` as the core sees a record (no provenance): what `get` and `stream` answer. */
export function toRecord(id: string, value: unknown, now: number, legacyTtl: number): SessionRecord {
  if (isStored(value)) return { id, payload: value.payload, expiresAt: value.expiresAt, owner: value.owner };
  const { legacy: _l, guessedExpiry: _g, ...record } = decode(id, value, now, legacyTtl);
  return record;
}

function cookieExpiry(value: unknown): number | undefined {
  const cookie = (value as { cookie?: { expires?: unknown } } | null)?.cookie;
  const expires = typeof cookie === "object" && cookie !== null ? cookie.expires : undefined;
  if (typeof expires !== "string" && typeof expires !== "number") return undefined;
  const at = new Date(expires).getTime();
  return Number.isFinite(at) ? at : undefined;
}

/** The key a scanned value was stored under: ours and connect-databank's both carry `sid`. */
export function keyOf(value: unknown): string | undefined {
  const sid = (value as { sid?: unknown } | null)?.sid;
  return typeof sid === "string" && sid.length > 0 ? sid : undefined;
}

/**
 * Ids naming Object.prototype members ("constructor", "__proto__", ...) break databank's memory
 * driver, which keeps records as properties of plain objects (a read of one throws outside any
 * callback). Express-session never makes such ids, so they are refused on every driver alike.
 */
const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));
export const isReservedId = (id: string): boolean => PROTOTYPE_NAMES.has(id);
