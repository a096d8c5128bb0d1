import type { SessionRecord } from "@sessionkit/core/kit";
import { isConflict, isMissing, openFailed } from "./errors.js";
import { isLegacyDocument, legacyMapBranch, readLegacy } from "./legacy.js";
import type { Fields, PouchDatabase } from "./types.js";

/** The `type` of a session document in this adapter's layout, and of a tombstone (a destroyed id). */
export const SESSION_TYPE = "sessionkit-session";
export const TOMBSTONE_TYPE = "sessionkit-tombstone";
/** The design document holding the adapter's two views. */
const DESIGN_ID = "_design/sessionkit";
/** Every session and tombstone by `[kind, expiry]` (kind 0 a session, 1 a tombstone); the value is the revision. */
export const EXPIRES_VIEW = "sessionkit/expires";
/** Sessions by owner (those this adapter wrote last); the value is the revision. */
export const OWNERS_VIEW = "sessionkit/owners";

/**
 * A session id's document id: the id itself, except where CouchDB can't take it. Ids starting
 * with "_" are reserved, and "." and ".." in a URL path name the database or the server, not a
 * document: those (and ids starting with the escape "~") get a "~" in front.
 */
export const toDocId = (id: string) => (id[0] === "_" || id[0] === "~" || id === "." || id === ".." ? `~${id}` : id);
export const toSessionId = (docId: string) => (docId[0] === "~" ? docId.slice(1) : docId);

/** What a write stores besides the payload (as in `SessionRecord`). */
export type Meta = Pick<Required<SessionRecord>, "expiresAt" | "owner" | "createdAt" | "lastActiveAt">;

export const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/** A session (ours, session-pouchdb-store's, or ours damaged), a tombstone, or another application's document. */
export function kindOf(doc: Fields): "session" | "tombstone" | "foreign" {
  if (doc.type === SESSION_TYPE || isLegacyDocument(doc)) return "session";
  return doc.type === TOMBSTONE_TYPE ? "tombstone" : "foreign";
}

/**
 * A stored document as a session: its record, "damaged" for a document of ours whose fields
 * can't be read, or null for anything else. The design document's views classify alike.
 */
export function readSession(id: string, doc: Fields, legacyTtlMs: number): SessionRecord | "damaged" | null {
  if (doc.type !== SESSION_TYPE) return isLegacyDocument(doc) ? readLegacy(id, doc, legacyTtlMs) : null;
  if (typeof doc.payload !== "string" || !isTime(doc.expiresAt)) return "damaged";
  return {
    id,
    payload: doc.payload,
    expiresAt: doc.expiresAt,
    owner: typeof doc.owner === "string" ? doc.owner : null,
    createdAt: isTime(doc.createdAt) ? doc.createdAt : undefined,
    lastActiveAt: isTime(doc.lastActiveAt) ? doc.lastActiveAt : undefined,
  };
}

/** Until when a tombstone holds (-Infinity for any other document, or none). */
export function tombstoneEnd(doc: Fields | undefined): number {
  if (doc?.type !== TOMBSTONE_TYPE) return Number.NEGATIVE_INFINITY;
  return isTime(doc.expiresAt) ? doc.expiresAt : 0;
}

/**
 * The views' map functions classify a document as `readSession` does; a test runs both over the
 * same documents. Plain ES5: they run inside CouchDB. Another application's document emits
 * nothing; a damaged one of ours expires at 0, so GC collects it.
 */
function mapFunction(emit: string, legacyTtlMs: number): string {
  return `function (doc) {
  var kind = 0, at = 0, owner = null;
  function time(v) { return typeof v === 'number' && isFinite(v); }
  if (doc.type === '${SESSION_TYPE}') {
    if (typeof doc.payload === 'string' && time(doc.expiresAt)) {
      at = doc.expiresAt;
      if (typeof doc.owner === 'string') owner = doc.owner;
    }
  } else if (doc.type === '${TOMBSTONE_TYPE}') {
    kind = 1;
    at = time(doc.expiresAt) ? doc.expiresAt : 0;${legacyMapBranch(legacyTtlMs)}
  } else {
    return;
  }
  ${emit}
}`;
}

/** The views of the design document; `init()` writes them when they differ. */
export function designViews(legacyTtlMs: number): Record<string, { map: string; reduce?: string }> {
  return {
    expires: { map: mapFunction("emit([kind, at], doc._rev);", legacyTtlMs), reduce: "_count" },
    owners: { map: mapFunction("if (owner !== null) emit(owner, doc._rev);", legacyTtlMs) },
  };
}

const missingDatabase = new Error("it does not exist (and createDatabase is false)");

/**
 * What `init()` prepares: the database is open (and exists, for a URL), and the design document
 * is as this adapter wants it. Idempotent; safe when several processes start at once.
 */
export async function prepareDatabase(db: PouchDatabase, label: string, legacyTtlMs: number): Promise<void> {
  const info = await db.info().catch((error: unknown) => {
    throw openFailed(label, isMissing(error) ? missingDatabase : error);
  });
  // Without setup, PouchDB's HTTP adapter answers info() of a missing database with the error body.
  if (typeof info === "object" && info !== null && "error" in info) throw openFailed(label, missingDatabase);
  const views = designViews(legacyTtlMs);
  for (let attempt = 0; ; attempt++) {
    const existing = await db.get(DESIGN_ID).catch((error) => (isMissing(error) ? undefined : Promise.reject(error)));
    if (JSON.stringify(existing?.views) === JSON.stringify(views)) return;
    const revision = existing ? { _rev: existing._rev } : {};
    try {
      await db.put({ _id: DESIGN_ID, ...revision, language: "javascript", views });
      return;
    } catch (error) {
      if (!isConflict(error) || attempt >= 10) throw error; // another process wrote it: compare again
    }
  }
}
