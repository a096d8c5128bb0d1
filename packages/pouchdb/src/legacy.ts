import { cookieExpiry, isSessionObject, type SessionRecord } from "@sessionkit/core/kit";
import type { Meta } from "./document.js";
import { adapterError } from "./errors.js";
import type { Fields } from "./types.js";

/**
 * session-pouchdb-store 0.4.1's layout, read always and written with `legacy: "session-pouchdb-store"`.
 *
 * It stores the session object itself as the document (`_id` = session id) with two fields of its
 * own: `$ts` (epoch ms of its last write) and `$dirty` (false once written). Its `get` returns
 * whatever document has the id, and express-session uses it without checking any expiry (a
 * document without a `cookie` object makes express-session throw: a 500). It never expires or
 * deletes anything by itself, and when it keeps a session alive it writes a new `cookie.expires`.
 *
 * Written in this layout, a session is that same object, plus `$ts`, `$dirty` and our
 * bookkeeping in one field, `$sessionkit` (`Meta`: expiry, owner, creation and activity times),
 * which the old store carries along as a session field. Our `$sessionkit.lastActiveAt` equals
 * `$ts`, so a document the old store rewrote since (after a rollback) is recognised by a
 * different `$ts`: its `$sessionkit` is then stale, and the expiry is the later of ours and its
 * cookie's (or `$ts` + `legacyTtl` for a cookie without expiry).
 */
export const LEGACY_STORE = "session-pouchdb-store";

/** A document session-pouchdb-store wrote (or we wrote in its layout): `$ts`, `$dirty` and a cookie object. */
export function isLegacyDocument(doc: Fields): boolean {
  return typeof doc.$ts === "number" && typeof doc.$dirty === "boolean" && isSessionObject(doc);
}

/** Fields that are bookkeeping, not the session: CouchDB's (`_id`, `_rev`, ...), the old store's and ours. */
const isBookkeeping = (key: string) => key[0] === "_" || key === "$ts" || key === "$dirty" || key === "$sessionkit";

function metaOf(doc: Fields): Partial<Meta> {
  const meta = doc.$sessionkit;
  return typeof meta === "object" && meta !== null ? (meta as Partial<Meta>) : {};
}

const time = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

export function readLegacy(id: string, doc: Fields, legacyTtlMs: number): SessionRecord {
  const meta = metaOf(doc);
  const oursLast = time(meta.expiresAt) && meta.lastActiveAt === doc.$ts;
  let expiresAt: number;
  if (oursLast) expiresAt = meta.expiresAt as number;
  else {
    expiresAt = cookieExpiry(doc) ?? (doc.$ts as number) + legacyTtlMs;
    if (time(meta.expiresAt) && meta.expiresAt > expiresAt) expiresAt = meta.expiresAt;
  }
  const session: Fields = {};
  for (const key of Object.keys(doc)) if (!isBookkeeping(key)) session[key] = doc[key];
  return {
    id,
    payload: JSON.stringify(session),
    expiresAt,
    // An owner is ours to know only while the session is as we wrote it.
    owner: oursLast && typeof meta.owner === "string" ? meta.owner : null,
    createdAt: time(meta.createdAt) ? meta.createdAt : undefined,
    lastActiveAt: doc.$ts as number,
  };
}

/**
 * A session in the old store's layout. The payload is the core's plain JSON (the core refuses
 * encryption and custom serializers over this layout).
 */
export function legacyDocument(payload: string, meta: Meta): Fields {
  let session: unknown;
  try {
    session = JSON.parse(payload);
  } catch {
    session = undefined; // the parser's message quotes the payload: never passed on
  }
  if (!isSessionObject(session)) throw adapterError(`${LEGACY_STORE}'s layout needs a session as plain JSON`);
  for (const key of Object.keys(session)) {
    if (isBookkeeping(key)) {
      throw adapterError(
        `in ${LEGACY_STORE}'s layout a session field can't be named "${key}" (CouchDB or the layout uses it)`,
      );
    }
  }
  return { ...session, $ts: meta.lastActiveAt, $dirty: false, $sessionkit: meta };
}

/** The same old-layout session with a new expiry, in place (keeping its shape for the old store). */
export function touchedLegacy(doc: Fields, meta: Meta): Fields {
  return { ...doc, $ts: meta.lastActiveAt, $sessionkit: meta };
}

/**
 * The id of a session's tombstone in this layout. The old store reads any document under a
 * session's id as that session (a tombstone there would be a 500), so the tombstone has an id of
 * its own, which no document id of a session can be (see `toDocId`), and the session's document
 * is deleted.
 */
export const tombstoneId = (docId: string) => `~tombstone/${docId}`;
