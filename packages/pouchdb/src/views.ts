import { SESSION_TYPE } from "./session-document.js";

/** The design document holding our indexes: `_design/sessionkit`. */
export const DESIGN_ID = "_design/sessionkit";
/** Sessions by expiry (ours and session-pouchdb-store's); the value is the revision, for deletes. */
export const EXPIRES_VIEW = "sessionkit/expires";
/** Our sessions by owner; the value is the revision. */
export const OWNERS_VIEW = "sessionkit/owners";

// Map functions run inside CouchDB (or PouchDB), so they are plain ES5 source. The legacy
// branch mirrors legacyExpiresAt() in session-document.ts; the tests check both agree.
function expiresMap(legacyTtlMs: number): string {
  return `function (doc) {
  if (doc._id.indexOf('_design/') === 0) return;
  if (doc.type === '${SESSION_TYPE}') {
    emit(typeof doc.expiresAt === 'number' && isFinite(doc.expiresAt) ? doc.expiresAt : 0, doc._rev);
    return;
  }
  if (typeof doc.$ts !== 'number' && (typeof doc.cookie !== 'object' || doc.cookie === null)) return;
  var t = NaN;
  if (typeof doc.$expiresAt === 'number' && isFinite(doc.$expiresAt)) {
    t = doc.$expiresAt;
  } else if (doc.cookie && typeof doc.cookie === 'object' && doc.cookie.expires) {
    t = typeof doc.cookie.expires === 'number' ? doc.cookie.expires : Date.parse(String(doc.cookie.expires));
  }
  if (!isFinite(t)) t = typeof doc.$ts === 'number' && isFinite(doc.$ts) ? doc.$ts + ${legacyTtlMs} : 0;
  emit(t, doc._rev);
}`;
}

const ownersMap = `function (doc) {
  if (doc.type === '${SESSION_TYPE}' && typeof doc.owner === 'string') emit(doc.owner, doc._rev);
}`;

/** The views of the design document; `init()` writes them when they differ. */
export function designViews(legacyTtlMs: number): Record<string, { map: string; reduce?: string }> {
  return {
    expires: { map: expiresMap(legacyTtlMs), reduce: "_count" },
    owners: { map: ownersMap },
  };
}
