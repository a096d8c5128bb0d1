import { configError } from "@sessionkit/core";

/** Options of `pouchdbAdapter`. Every option is checked when the adapter is made. */
export interface PouchdbAdapterOptions {
  /**
   * URL targets only: create the database when it is missing (needs a CouchDB admin).
   * When false and the database is missing, `init()` fails with a clear error. Default: true.
   */
  createDatabase?: boolean;
  /** URL targets only: milliseconds before an HTTP request is abandoned with an error. Default: 10000. */
  requestTimeout?: number;
  /**
   * How many sessions' last-known revision (and document) the adapter remembers, so a write,
   * touch or destroy after a read skips the read-before-write. A stale entry costs one conflict
   * and a re-read, never a lost write. 0 turns the cache off. Default: 1000.
   */
  revisionCacheSize?: number;
  /**
   * How many times a write retries after a revision conflict (another process wrote the same
   * session at the same moment) before it fails. The first retry goes at once, later ones
   * after a growing, jittered wait; the default 10 span at least half a second. Default: 10.
   */
  maxConflictRetries?: number;
  /** Compact the database after a garbage collection run that deleted sessions. Default: false. */
  compactAfterPrune?: boolean;
  /**
   * Lifetime, in seconds after its last write, of a session written by session-pouchdb-store
   * whose cookie has no expiry (a browser-session cookie). Use the same value in every process
   * that shares a database: it is part of the design document. Default: 86400 (one day).
   */
  legacyTtl?: number;
  /** Documents per request when streaming, clearing or deleting by owner. Default: 500. */
  pageSize?: number;
}

/** The options with their defaults applied. */
export interface ResolvedPouchdbOptions {
  createDatabase: boolean;
  requestTimeout: number;
  revisionCacheSize: number;
  maxConflictRetries: number;
  compactAfterPrune: boolean;
  legacyTtlMs: number;
  pageSize: number;
}

const MAX_SAFE_TIMEOUT = 2_147_483_647; // setTimeout's ceiling

function wholeNumber(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw configError(name, `must be a whole number from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}

function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw configError(name, `must be true or false (got ${String(value)})`);
  return value;
}

/** Checks the options and applies defaults; throws ERR_SESSION_CONFIG naming the bad option. */
export function resolveOptions(options: PouchdbAdapterOptions | undefined): ResolvedPouchdbOptions {
  if (options !== undefined && (typeof options !== "object" || options === null || Array.isArray(options))) {
    throw configError("options", "must be an object");
  }
  const o = options ?? {};
  return {
    createDatabase: flag("createDatabase", o.createDatabase, true),
    requestTimeout: wholeNumber("requestTimeout", o.requestTimeout, 10_000, 1, MAX_SAFE_TIMEOUT),
    revisionCacheSize: wholeNumber("revisionCacheSize", o.revisionCacheSize, 1000, 0, 10_000_000),
    maxConflictRetries: wholeNumber("maxConflictRetries", o.maxConflictRetries, 10, 0, 1000),
    compactAfterPrune: flag("compactAfterPrune", o.compactAfterPrune, false),
    legacyTtlMs: wholeNumber("legacyTtl", o.legacyTtl, 86_400, 1, 10 * 365 * 86_400) * 1000,
    pageSize: wholeNumber("pageSize", o.pageSize, 500, 1, 100_000),
  };
}
