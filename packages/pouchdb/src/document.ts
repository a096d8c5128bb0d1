import type { SessionRecord } from "@sessionkit/core/kit";
import { isLegacyDocument, readLegacy, touchedLegacy } from "./legacy.js";
import type { Fields } from "./types.js";

/** The `type` of a session document in this adapter's layout, and of a tombstone (a destroyed id). */
export const SESSION_TYPE = "sessionkit-session";
export const TOMBSTONE_TYPE = "sessionkit-tombstone";

/**
 * A session id's document id: the id itself, except where CouchDB can't take it. Ids starting
 * with "_" are reserved, and "." and ".." in a URL path name the database or the server, not a
 * document: those (and ids starting with the escape "~") get a "~" in front.
 */
export function toDocId(id: string): string {
  return id[0] === "_" || id[0] === "~" || id === "." || id === ".." ? `~${id}` : id;
}

export const toSessionId = (docId: string) => (docId[0] === "~" ? docId.slice(1) : docId);

/** What a write stores besides the payload (`createdAt`, `lastActiveAt` as in `SessionRecord`). */
export interface Meta {
  expiresAt: number;
  owner: string | null;
  createdAt: number;
  lastActiveAt: number;
}

export const sessionDocument = (payload: string, meta: Meta): Fields => ({ type: SESSION_TYPE, payload, ...meta });
export const tombstoneDocument = (now: number, until: number): Fields => ({
  type: TOMBSTONE_TYPE,
  expiresAt: until,
  createdAt: now,
});

export const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/** A session (ours, session-pouchdb-store's, or ours damaged), a tombstone, or another application's document. */
export function kindOf(doc: Fields): "session" | "tombstone" | "foreign" {
  if (doc.type === SESSION_TYPE || isLegacyDocument(doc)) return "session";
  return doc.type === TOMBSTONE_TYPE ? "tombstone" : "foreign";
}

/**
 * A stored document as a session: its record, "damaged" for a document of ours whose fields
 * can't be read, or null for anything else. The design document's views classify alike (schema.ts).
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

/** A stored document's fields, without `_id` and `_rev`: what a later write builds on. */
export const fieldsOf = ({ _id, _rev, ...fields }: Fields): Fields => fields;

/** The same session with a new expiry and activity time, in the layout it is stored in. */
export const touchedDocument = (doc: Fields, meta: Meta): Fields =>
  doc.type === SESSION_TYPE ? { ...fieldsOf(doc), ...meta } : touchedLegacy(doc, meta);
