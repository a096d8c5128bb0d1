/**
 * CouchDB reserves ids that start with "_", yet express-session ids (base64url) can start
 * with one. Ids that start with "_" or with the escape "~" get a "~" prefix; every other id
 * is stored as is, so documents written by session-pouchdb-store (`_id` = sid) are found.
 */
const ESCAPE = "~";

export function toDocId(sessionId: string): string {
  return sessionId.startsWith("_") || sessionId.startsWith(ESCAPE) ? ESCAPE + sessionId : sessionId;
}

export function toSessionId(docId: string): string {
  return docId.startsWith(ESCAPE) ? docId.slice(ESCAPE.length) : docId;
}
