import { randomUUID } from "node:crypto";
import { SESSION_TYPE, TOMBSTONE_TYPE } from "./document.js";
import { isConflict, isMissing, notInstalled, openFailed } from "./errors.js";
import { legacyMapBranch } from "./legacy.js";
import type { PouchDatabase } from "./types.js";

/** The design document holding the adapter's two views. */
export const DESIGN_ID = "_design/sessionkit";
/** Every session and tombstone by `[kind, expiry]` (kind 0 a session, 1 a tombstone); the value is the revision. */
export const EXPIRES_VIEW = "sessionkit/expires";
/** Sessions by owner (those this adapter wrote last); the value is the revision. */
export const OWNERS_VIEW = "sessionkit/owners";

/**
 * The views' map functions classify a document as `readSession` (document.ts) does; a test runs
 * both over the same documents. Plain ES5: they run inside CouchDB. Another application's
 * document emits nothing; a damaged one of ours expires at 0, so GC collects it.
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

/** A database ready to use, and how to let go of it. */
export interface Opened {
  db: PouchDatabase;
  /** Closes (or, in memory, frees) what the adapter created; nothing for the user's instance. */
  release(): Promise<unknown>;
}

interface PouchConstructor {
  new (name: string, options?: Record<string, unknown>): PouchDatabase;
  fetch(url: string, init?: { signal?: AbortSignal }): Promise<unknown>;
}

/**
 * Creates the database of a URL target, or one in memory, with the `pouchdb` package's constructor
 * as it is: nothing is registered on it, so a user's own `new PouchDB(...)` is unaffected.
 */
export async function openDatabase(url?: string, createDatabase = true, requestTimeout = 10_000): Promise<Opened> {
  let PouchDB: PouchConstructor;
  let memdown: unknown;
  try {
    PouchDB = (await import("pouchdb")).default as PouchConstructor;
    if (url === undefined) memdown = (await import("memdown")).default;
  } catch (error) {
    throw notInstalled(
      url === undefined ? "a database in memory needs pouchdb and memdown" : "a URL needs pouchdb",
      error,
    );
  }
  if (url === undefined) {
    // pouchdb's LevelDB adapter over memdown: what pouchdb-adapter-memory registers, unregistered.
    const db = new PouchDB(`sessionkit-${randomUUID()}`, { db: memdown });
    return { db, release: () => db.destroy?.() ?? Promise.resolve() };
  }
  const db = new PouchDB(url, {
    skip_setup: !createDatabase, // without setup PouchDB never creates the database
    // Each request gets a deadline: a server that stops answering gives errors, not hung sockets.
    fetch: async (input: string, init: { signal?: AbortSignal } = {}) => {
      const deadline = AbortSignal.timeout(requestTimeout);
      const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
      try {
        return await PouchDB.fetch(input, { ...init, signal });
      } catch (error) {
        if (deadline.aborted) throw new Error(`request timed out after ${requestTimeout} ms (option requestTimeout)`);
        throw error;
      }
    },
  });
  return { db, release: () => db.close?.() ?? Promise.resolve() };
}

const missingDatabase = new Error("it does not exist (and createDatabase is false)");

/**
 * What `init()` prepares: the database is open (and exists, for a URL), and the design document
 * is as this adapter wants it. Idempotent; safe when several processes start at once.
 */
export async function prepareDatabase(db: PouchDatabase, label: string, legacyTtlMs: number): Promise<void> {
  let info: unknown;
  try {
    info = await db.info();
  } catch (error) {
    throw openFailed(label, isMissing(error) ? missingDatabase : error);
  }
  // Without setup, PouchDB's HTTP adapter answers info() of a missing database with the error body.
  if (typeof info === "object" && info !== null && "error" in info) {
    throw openFailed(label, missingDatabase);
  }
  const views = designViews(legacyTtlMs);
  for (let attempt = 0; ; attempt++) {
    let rev: string | undefined;
    try {
      const existing = await db.get(DESIGN_ID);
      if (JSON.stringify(existing.views) === JSON.stringify(views)) return;
      rev = existing._rev;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    try {
      await db.put({ _id: DESIGN_ID, ...(rev ? { _rev: rev } : {}), language: "javascript", views });
      return;
    } catch (error) {
      if (!isConflict(error) || attempt >= 10) throw error; // another process wrote it: compare again
    }
  }
}
