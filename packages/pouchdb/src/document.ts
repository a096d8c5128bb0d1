import type { SessionRecord } from "@sessionkit/core/kit";
import { isLegacyDocument, readLegacy, touchedLegacy } from "./legacy.js";
import type { Fields } from "./types.js";

/** The `type` of a session document in this adapter's layout. */
export const SESSION_TYPE = "sessionkit-session";
/** The `type` of a tombstone: a destroyed id, unwritable until `expiresAt`. */
export const TOMBSTONE_TYPE = "sessionkit-tombstone";

/**
 * The document id of a session id: the id itself, except where CouchDB can't take it. Ids that
 * start with "_" are reserved, and "." and ".." in a URL path name the database or the server,
 * not a document: those (and ids starting with the escape "~") get a "~" in front. Other stores'
 * documents (`_id` = session id) are found as they are.
 */
export function toDocId(sessionId: string): string {
  const first = sessionId[0];
  return first === "_" || first === "~" || sessionId === "." || sessionId === ".." ? `~${sessionId}` : sessionId;
}

export function toSessionId(docId: string): string {
  return docId[0] === "~" ? docId.slice(1) : docId;
}

/** What a write stores besides the payload; `createdAt` and `lastActiveAt` as in `SessionRecord`. */
export interface Meta {
  expiresAt: number;
  owner: string | null;
  createdAt: number;
  lastActiveAt: number;
}

/** A session in this adapter's layout: the core's payload as one string, and our fields. */
export function sessionDocument(payload: string, meta: Meta): Fields {
  return { type: SESSION_TYPE, payload, ...meta };
}

export function tombstoneDocument(now: number, until: number): Fields {
  return { type: TOMBSTONE_TYPE, expiresAt: until, createdAt: now };
}

export const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const timeOrUndefined = (value: unknown) => (isTime(value) ? value : undefined);

/**
 * A stored document as a session: a record, "damaged" for a document of ours whose fields can't
 * be read, or null for anything else (a tombstone, another application's document). The design
 * document's views classify documents the same way (see schema.ts).
 */
export function readSession(id: string, doc: Fields, legacyTtlMs: number): SessionRecord | "damaged" | null {
  if (doc.type === SESSION_TYPE) {
    if (typeof doc.payload !== "string" || !isTime(doc.expiresAt)) return "damaged";
    return {
      id,
      payload: doc.payload,
      expiresAt: doc.expiresAt,
      owner: typeof doc.owner === "string" ? doc.owner : null,
      createdAt: timeOrUndefined(doc.createdAt),
      lastActiveAt: timeOrUndefined(doc.lastActiveAt),
    };
  }
  return isLegacyDocument(doc) ? readLegacy(id, doc, legacyTtlMs) : null;
}

/** A session's record for the core. A damaged one reads as an unreadable payload, which the core reports. */
export function recordOf(id: string, doc: Fields, now: number, legacyTtlMs: number): SessionRecord | null {
  const session = readSession(id, doc, legacyTtlMs);
  return session === "damaged" ? { id, payload: "", expiresAt: now + 1, owner: null } : session;
}

/** Until when a tombstone holds (-Infinity for anything else). */
export function tombstoneEnd(doc: Fields | undefined): number {
  return doc?.type === TOMBSTONE_TYPE ? (timeOrUndefined(doc.expiresAt) ?? 0) : Number.NEGATIVE_INFINITY;
}

/** A document that is neither a session (ours or session-pouchdb-store's) nor a tombstone. */
export function isForeign(doc: Fields): boolean {
  return doc.type !== SESSION_TYPE && doc.type !== TOMBSTONE_TYPE && !isLegacyDocument(doc);
}

/** The same session with a new expiry and activity time, in the layout it is stored in. */
export function touchedDocument(doc: Fields, meta: Meta): Fields {
  return doc.type === SESSION_TYPE ? { ...doc, ...meta } : touchedLegacy(doc, meta);
}

/** `expiresAt` capped at `createdAt + maxLifetimeMs` when a lifetime is set. */
export function capped(expiresAt: number, createdAt: number, maxLifetimeMs: number | undefined): number {
  return maxLifetimeMs === undefined ? expiresAt : Math.min(expiresAt, createdAt + maxLifetimeMs);
}
