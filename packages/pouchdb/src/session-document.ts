import type { SessionRecord } from "@sessionkit/core";
import type { PouchDocument } from "./pouch-types.js";

/** The `type` of every document this adapter writes, so a CouchDB user can tell them apart. */
export const SESSION_TYPE = "sessionkit-session";

/**
 * A session as stored: plain JSON a CouchDB user can read in Fauxton.
 * `expires` repeats `expiresAt` as an ISO date for humans; nothing reads it back.
 */
export type SessionBody = {
  type: typeof SESSION_TYPE;
  payload: string;
  expiresAt: number;
  expires: string;
  owner: string | null;
};

/** The fields of a stored document, without `_id` and `_rev`: what a later write builds on. */
export type StoredBody = Record<string, unknown>;

export function sessionBody(record: Pick<SessionRecord, "payload" | "expiresAt" | "owner">): SessionBody {
  return {
    type: SESSION_TYPE,
    payload: record.payload,
    expiresAt: record.expiresAt,
    expires: isoDate(record.expiresAt),
    owner: record.owner,
  };
}

function isoDate(epochMs: number): string {
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

/** Session-pouchdb-store's bookkeeping fields, and ours on its documents: never part of the session. */
const LEGACY_FIELDS = new Set(["_id", "_rev", "$ts", "$dirty", "$expiresAt"]);

export function isOurs(doc: StoredBody): boolean {
  return doc.type === SESSION_TYPE;
}

/** A document session-pouchdb-store wrote: the session object itself, with its `$ts` or a cookie. */
export function isLegacy(doc: StoredBody): boolean {
  return !isOurs(doc) && (typeof doc.$ts === "number" || (typeof doc.cookie === "object" && doc.cookie !== null));
}

/**
 * When a legacy document expires: the expiry we set when touching it, else its cookie's,
 * else `legacyTtlMs` after its last write, else now (an unreadable document is expired).
 * The design document's map function computes the same (see views.ts).
 */
export function legacyExpiresAt(doc: StoredBody, legacyTtlMs: number): number {
  if (typeof doc.$expiresAt === "number" && Number.isFinite(doc.$expiresAt)) return doc.$expiresAt;
  const cookie = doc.cookie as { expires?: unknown } | null | undefined;
  if (cookie && typeof cookie === "object" && cookie.expires) {
    const expires = typeof cookie.expires === "number" ? cookie.expires : Date.parse(String(cookie.expires));
    if (Number.isFinite(expires)) return expires;
  }
  return typeof doc.$ts === "number" && Number.isFinite(doc.$ts) ? doc.$ts + legacyTtlMs : 0;
}

/** The session object of a legacy document, as JSON: what express-session gave session-pouchdb-store. */
function legacyPayload(doc: StoredBody): string {
  const session: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) if (!LEGACY_FIELDS.has(key)) session[key] = value;
  return JSON.stringify(session);
}

/**
 * Reads a stored document as a record, or null when it is not a session (a foreign document).
 * A damaged field of ours reads as expired ("" payload, expiry 0) so the core reports it and GC removes it.
 */
export function toRecord(id: string, doc: StoredBody, legacyTtlMs: number): SessionRecord | null {
  if (isOurs(doc)) {
    return {
      id,
      payload: typeof doc.payload === "string" ? doc.payload : "",
      expiresAt: ourExpiresAt(doc),
      owner: typeof doc.owner === "string" ? doc.owner : null,
    };
  }
  if (isLegacy(doc))
    return { id, payload: legacyPayload(doc), expiresAt: legacyExpiresAt(doc, legacyTtlMs), owner: null };
  return null;
}

/** A damaged expiry of ours reads as 0: expired. */
function ourExpiresAt(doc: StoredBody): number {
  return typeof doc.expiresAt === "number" && Number.isFinite(doc.expiresAt) ? doc.expiresAt : 0;
}

/**
 * Whether a stored document is a session (ours or legacy) still live at `now`, by the same
 * expiry `toRecord` reads. A foreign document is never a live session.
 */
export function isLiveAt(doc: StoredBody, now: number, legacyTtlMs: number): boolean {
  if (isOurs(doc)) return ourExpiresAt(doc) > now;
  return isLegacy(doc) && legacyExpiresAt(doc, legacyTtlMs) > now;
}

/** The same document with a new expiry and nothing else changed (a legacy one keeps its shape). */
export function withExpiry(doc: StoredBody, expiresAt: number): StoredBody {
  if (isOurs(doc)) return { ...doc, expiresAt, expires: isoDate(expiresAt) };
  return { ...doc, $expiresAt: expiresAt };
}

/** The fields of a fetched document without `_id` and `_rev`. */
export function bodyOf(doc: PouchDocument): StoredBody {
  const { _id, _rev, ...body } = doc;
  return body;
}
