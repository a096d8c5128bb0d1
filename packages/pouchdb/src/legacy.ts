import { cookieExpiry, isSessionObject, type SessionRecord } from "@sessionkit/core/kit";
import type { Known } from "./backend.js";
import { adapterError } from "./errors.js";
import { isTime, type Meta, SESSION_TYPE, tombstoneEnd } from "./schema.js";
import type { Fields, PouchDatabase } from "./types.js";

/**
 * session-pouchdb-store 0.4.1's layout: read always, written with `legacy: "session-pouchdb-store"`.
 *
 * The old store keeps the session object itself as the document (`_id` = session id) with two
 * fields of its own: `$ts` (epoch ms of its last write) and `$dirty` (false once written). Its
 * `get` answers whatever document has the id, and express-session uses it without looking at any
 * expiry (a document without a `cookie` object makes express-session throw: a 500). It never
 * expires or deletes anything by itself; keeping a session alive, it writes a later `cookie.expires`.
 *
 * Written in this layout, a session is that same object, plus `$ts`, `$dirty` and our bookkeeping
 * in one field, `$sessionkit` (`Meta`), which the old store carries along as a session field.
 * Ours has `$sessionkit.lastActiveAt` equal to `$ts`: a different `$ts` means the old store rewrote
 * the document since (after a rollback), so `$sessionkit` is stale: the expiry is then the later
 * of ours and the cookie's (or `$ts` + `legacyTtl` for a cookie without expiry), the owner unknown.
 */
export const LEGACY_STORE = "session-pouchdb-store";

/** A document in the old store's layout: `$ts`, `$dirty` and a cookie object. */
export function isLegacyDocument(doc: Fields): boolean {
  return typeof doc.$ts === "number" && typeof doc.$dirty === "boolean" && isSessionObject(doc);
}

/** Fields that are not the session's: CouchDB's (`_id`, `_rev`, ...), the old store's, ours. */
const isBookkeeping = (key: string) => key[0] === "_" || key === "$ts" || key === "$dirty" || key === "$sessionkit";

export function readLegacy(id: string, doc: Fields, legacyTtlMs: number): SessionRecord {
  const meta = (doc.$sessionkit ?? {}) as Partial<Meta>; // not an object: no field of ours
  const ours = isTime(meta.expiresAt) ? meta.expiresAt : Number.NEGATIVE_INFINITY;
  const oursLast = meta.lastActiveAt === doc.$ts && ours > Number.NEGATIVE_INFINITY;
  const cookie = cookieExpiry(doc) ?? (doc.$ts as number) + legacyTtlMs;
  const session: Fields = {};
  for (const key of Object.keys(doc)) if (!isBookkeeping(key)) session[key] = doc[key];
  return {
    id,
    payload: JSON.stringify(session),
    expiresAt: oursLast ? ours : Math.max(ours, cookie),
    owner: oursLast && typeof meta.owner === "string" ? meta.owner : null,
    createdAt: isTime(meta.createdAt) ? meta.createdAt : undefined,
    lastActiveAt: doc.$ts as number,
  };
}

/**
 * The views' branch for this layout (plain ES5, as `readLegacy`): sets `at` and `owner` of a
 * document the old store would read; `time` is the views' finite-number test.
 */
export const legacyMapBranch = (legacyTtlMs: number) => `
  } else if (typeof doc.$ts === 'number' && typeof doc.$dirty === 'boolean' && doc.cookie !== null &&
      typeof doc.cookie === 'object' && !Array.isArray(doc.cookie)) {
    var m = doc.$sessionkit !== null && typeof doc.$sessionkit === 'object' ? doc.$sessionkit : {};
    var e = doc.cookie.expires, t = typeof e === 'number' ? e : typeof e === 'string' ? Date.parse(e) : NaN;
    at = time(t) ? t : doc.$ts + ${legacyTtlMs};
    if (time(m.expiresAt) && m.lastActiveAt === doc.$ts) {
      at = m.expiresAt;
      if (typeof m.owner === 'string') owner = m.owner;
    } else if (time(m.expiresAt) && m.expiresAt > at) at = m.expiresAt;`;

/** A session in the old store's layout. The payload is plain JSON: the core refuses encryption and serializers. */
export function legacyDocument(payload: string, meta: Meta): Fields {
  let session: unknown;
  try {
    session = JSON.parse(payload);
  } catch {
    // the parser's message quotes the payload: never passed on
  }
  if (!isSessionObject(session)) throw adapterError(`${LEGACY_STORE}'s layout needs sessions as plain JSON`);
  const reserved = Object.keys(session).find(isBookkeeping);
  if (reserved) throw adapterError(`in ${LEGACY_STORE}'s layout no session field can be named "${reserved}"`);
  return { ...session, $ts: meta.lastActiveAt, $dirty: false, $sessionkit: meta };
}

/** A stored document's fields, without `_id` and `_rev`: what a later write builds on. */
const fieldsOf = ({ _id, _rev, ...fields }: Fields): Fields => fields;

/**
 * A touched session with a new expiry and activity time. One in the old store's layout stays in
 * it; one of ours too, except with `legacy` on (`writeLegacy`): then it moves to the old store's,
 * so that the old store reads every session in use (one whose payload is not plain JSON stays).
 */
export function touchedDocument(doc: Fields, meta: Meta, writeLegacy: boolean): Fields {
  if (doc.type !== SESSION_TYPE) return { ...fieldsOf(doc), $ts: meta.lastActiveAt, $sessionkit: meta };
  if (writeLegacy) {
    try {
      return legacyDocument(doc.payload as string, meta);
    } catch {
      // stays in our layout
    }
  }
  return { ...fieldsOf(doc), ...meta };
}

/**
 * The id of a session's tombstone in this layout. The old store would read any document under a
 * session's id as that session, so the tombstone has an id no session's document id can be (see
 * `toDocId`), and the session's document is deleted.
 */
export const tombstoneId = (docId: string) => `~tombstone/${docId}`;

/**
 * The session's document and its tombstone, read together. A deleted document's revision is
 * kept: a write over it is revision-checked too, so a tombstone written meanwhile is not missed.
 */
export async function readWithTombstone(db: PouchDatabase, docId: string): Promise<Known> {
  const [session, tombstone] = (await db.allDocs({ keys: [docId, tombstoneId(docId)], include_docs: true })).rows;
  return {
    rev: (session?.value as { rev?: string } | undefined)?.rev,
    doc: session?.doc ?? undefined,
    until: tombstoneEnd(tombstone?.doc ?? undefined),
  };
}
