import { randomUUID } from "node:crypto";
import { configError, type ResolvedOptionsOf, readOptions, rules } from "@sessionkit/core/kit";
import { type Opened, PouchdbBackend } from "./backend.js";
import { adapterError } from "./errors.js";
import { LEGACY_STORE } from "./legacy.js";
import type { PouchDatabase } from "./types.js";

export type { PouchdbBackend } from "./backend.js";
export type { PouchDatabase, PouchDocument } from "./types.js";

/** Options of `pouchdbAdapter`. Every option is checked when the adapter is made; an unknown one is refused. */
export interface PouchdbAdapterOptions {
  /**
   * Write sessions in session-pouchdb-store 0.4.1's layout (the session object itself, plus
   * bookkeeping fields it ignores), so that the old store still reads them after a rollback.
   * The store then refuses encryption and custom serializers. Default: off (this adapter's own
   * layout, which session-pouchdb-store can't read).
   */
  legacy?: "session-pouchdb-store";
  /**
   * Seconds after its last write that a session session-pouchdb-store wrote, whose cookie has no
   * expiry, lives. Part of the design document: use one value in every process. Default: 86400.
   */
  legacyTtl?: number;
  /** URL targets only: create the database when it is missing (needs a CouchDB admin). Default: true. */
  createDatabase?: boolean;
  /**
   * URL targets only: milliseconds before one HTTP request is abandoned with an error, so a server
   * that stops answering leaves no hung request behind (the store's `operationTimeout` bounds the
   * whole operation). Default: 10000.
   */
  requestTimeout?: number;
  /**
   * How many documents' last-known revision and fields the adapter remembers, so that a write,
   * touch or destroy after a read needs no second read. A stale entry costs one conflict and a
   * read, never a lost write. It holds whole documents, so its memory is up to this many times
   * the largest session. 0 turns it off. Default: 1000.
   */
  revisionCacheSize?: number;
  /**
   * How many times a write reads again and retries after a revision conflict (another process
   * wrote the same session at once) before it fails. Default: 10.
   */
  maxConflictRetries?: number;
  /** Documents per request when streaming (`all()`, `ids()`) and clearing. Default: 500. */
  pageSize?: number;
}

const OPTIONS = {
  legacy: rules.oneOf([LEGACY_STORE] as const, undefined),
  legacyTtl: rules.integer(86_400, { min: 1, max: 10 * 365 * 86_400 }),
  createDatabase: rules.boolean(undefined),
  requestTimeout: rules.integer(undefined, { min: 1, max: 2_147_483_647 }),
  revisionCacheSize: rules.integer(1000, { min: 0, max: 10_000_000 }),
  maxConflictRetries: rules.integer(10, { min: 0, max: 1000 }),
  pageSize: rules.integer(500, { min: 1, max: 100_000 }),
};

/** The options the backend runs with, and the database's name for messages (never with credentials). */
export type Settings = ResolvedOptionsOf<typeof OPTIONS> & { label: string };

const REQUIRED = ["get", "put", "bulkDocs", "allDocs", "query", "info"] as const;

/**
 * A sessionkit backend over PouchDB or CouchDB.
 *
 * @param target A PouchDB database you made (any adapter, e.g. LevelDB: yours to close); the URL
 *   of a CouchDB database (`http://user:pass@host:5984/sessions`: needs the `pouchdb` package);
 *   or nothing, for a fresh in-memory database (needs `pouchdb` and `memdown`), freed by `close()`.
 * @param options See {@link PouchdbAdapterOptions}.
 * @throws SessionStoreError `ERR_SESSION_CONFIG` for a target or option it can't use.
 */
export function pouchdbAdapter(target?: PouchDatabase | string, options?: PouchdbAdapterOptions): PouchdbBackend {
  const o = readOptions("pouchdbAdapter", options, OPTIONS);
  const url = typeof target === "string" && URL.canParse(target) ? new URL(target) : undefined;
  if (url && /^https?:$/.test(url.protocol) && /[^/]/.test(url.pathname)) {
    const open = () => openDatabase(url.href, o.createDatabase, o.requestTimeout);
    return new PouchdbBackend("pouchdb:http", open, { ...o, label: withoutCredentials(url.href) });
  }
  for (const option of ["createDatabase", "requestTimeout"] as const) {
    if (o[option] !== undefined && typeof target !== "string")
      throw configError(option, "of pouchdbAdapter applies only to a URL target");
  }
  if (target === undefined) return new PouchdbBackend("pouchdb:memory", openDatabase, { ...o, label: "in memory" });
  if (typeof target !== "object" || target === null || !REQUIRED.every((m) => typeof target[m] === "function")) {
    throw configError(
      "target",
      "of pouchdbAdapter must be a PouchDB database with map/reduce (get, put, bulkDocs, allDocs, query, info), the http(s) URL of a CouchDB database (e.g. http://127.0.0.1:5984/sessions), or nothing for a database in memory",
    );
  }
  const label = typeof target.name === "string" ? withoutCredentials(target.name) : "passed in";
  // The user's database: never closed here.
  const open = async () => ({ db: target, release: async () => {} });
  return new PouchdbBackend(`pouchdb:${target.adapter ?? "instance"}`, open, { ...o, label });
}

/** A URL without user name and password (all before the last "@" of the authority); anything else (a path) as it is. */
const withoutCredentials = (name: string) => name.replace(/^(https?:\/\/)[^/?#]*@/, "$1");

interface PouchConstructor {
  new (name: string, options?: object): PouchDatabase & Record<"close" | "destroy", () => Promise<unknown>>;
  fetch(url: string, init?: { signal?: AbortSignal }): Promise<unknown>;
}

/**
 * Creates the database of a URL target, or one in memory, with the `pouchdb` package's constructor
 * as it is: nothing is registered on it, so a user's own `new PouchDB(...)` is unaffected.
 */
async function openDatabase(url?: string, createDatabase = true, requestTimeout = 10_000): Promise<Opened> {
  const [{ default: PouchDB }, memdown] = await Promise.all([
    import("pouchdb") as Promise<{ default: PouchConstructor }>,
    url === undefined ? import("memdown") : undefined,
  ]).catch((error: unknown) => {
    const needs = url === undefined ? "a database in memory needs pouchdb and memdown" : "a URL needs pouchdb";
    throw adapterError(`${needs}: install it`, error);
  });
  if (url === undefined) {
    // pouchdb's LevelDB adapter over memdown: what pouchdb-adapter-memory registers, unregistered.
    const db = new PouchDB(`sessionkit-${randomUUID()}`, { db: memdown?.default });
    return { db, release: () => db.destroy() };
  }
  const db = new PouchDB(url, {
    skip_setup: !createDatabase, // without setup PouchDB never creates the database
    // Each request gets a deadline: a server that stops answering gives errors, not hung sockets.
    fetch: async (input: string, init: { signal?: AbortSignal } = {}) => {
      const deadline = AbortSignal.timeout(requestTimeout);
      const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
      return PouchDB.fetch(input, { ...init, signal }).catch((error: unknown) => {
        throw deadline.aborted
          ? new Error(`request timed out after ${requestTimeout} ms (option requestTimeout)`)
          : error;
      });
    },
  });
  return { db, release: () => db.close() };
}
