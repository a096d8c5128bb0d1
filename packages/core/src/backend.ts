/**
 * The boundary between the core and a database. The core owns every decision about
 * sessions (expiry, touch, serialization, GC policy); a backend only stores records.
 * `@sessionkit/conformance` is the executable definition of this contract.
 */

/** One stored session, as the core hands it to a backend and reads it back. */
export interface SessionRecord {
  /** The session id (1..maxIdLength characters, validated by the core). */
  readonly id: string;
  /** The serialized (and possibly encrypted) session. Opaque to the backend: store it byte for byte. */
  readonly payload: string;
  /** Absolute expiry, epoch milliseconds. */
  readonly expiresAt: number;
  /** Owner id for "log out everywhere", or null when the session has no owner. */
  readonly owner: string | null;
}

/** What a backend declares about itself. Never guessed from the client. */
export interface BackendCapabilities {
  /**
   * Whether `destroyByOwner` works. A backend that cannot store owners (for example a legacy
   * table layout) sets this to false and the store fails `destroyByOwner` with
   * `ERR_SESSION_UNSUPPORTED` instead of silently deleting nothing. Default: true.
   */
  readonly owners?: boolean;
  /**
   * The largest payload (UTF-8 bytes) the backend can hold. The store rejects larger payloads
   * with `ERR_SESSION_TOO_LARGE` before writing. Default: no limit beyond the store's `maxSize`.
   */
  readonly maxPayloadBytes?: number;
  /**
   * How many expired records one `deleteExpired` call handles best (measured for the database).
   * The store uses it when its own `gcBatchSize` option is not set. Default: the store's 1000.
   */
  readonly gcBatchSize?: number;
}

/**
 * A storage backend for the sessionkit store. Every method returns a promise; a failure
 * rejects (the core wraps it in a `SessionStoreError` with code `ERR_SESSION_BACKEND`).
 */
export interface SessionBackend {
  /** Short name used in logs and error messages, e.g. `"knex:pg"`. */
  readonly name: string;
  /** Declared optional capabilities. */
  readonly capabilities?: BackendCapabilities;

  /** Create tables, indexes or design documents. Idempotent; safe when several processes start at once. */
  init(): Promise<void>;
  /** Read one record. It may return an expired record: the core filters. `null` when missing. */
  get(id: string): Promise<SessionRecord | null>;
  /** Insert or replace one record atomically. Concurrent upserts of one id never fail: last write wins. */
  upsert(record: SessionRecord): Promise<void>;
  /**
   * Move one live record's expiry without rewriting its payload. A no-op when the record is
   * missing or already expired at `now` (`expiresAt <= now` as stored): a touch arriving just
   * after a session expired must never bring it back. Where the database allows, one
   * conditional write (`... WHERE id = ? AND expires > now`).
   */
  touch(id: string, expiresAt: number, now: number): Promise<void>;
  /** Delete one record. A no-op when it is missing. */
  destroy(id: string): Promise<void>;
  /** Delete every record of one owner; resolves with how many were deleted. */
  destroyByOwner(owner: string): Promise<number>;
  /** Delete every record. */
  clear(): Promise<void>;
  /**
   * Delete up to `limit` records whose `expiresAt <= now`; resolves with how many were deleted.
   * The core calls it again while it returns `limit`. Its cost must grow with the number of
   * expired records, not with the total.
   */
  deleteExpired(now: number, limit: number): Promise<number>;
  /** Count records with `expiresAt > now`. */
  count(now: number): Promise<number>;
  /** Yield every record with `expiresAt > now`, without loading them all at once where the database allows. */
  stream(now: number): AsyncIterable<SessionRecord>;
  /** Release what the backend created (never a client the user passed in). Idempotent. */
  close(): Promise<void>;
}
