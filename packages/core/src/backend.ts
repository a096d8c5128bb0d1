/**
 * The boundary between the core and a database. The core owns every decision about sessions
 * (expiry, touch, lifetime, serialization, GC policy, when a destroyed id may be written again);
 * a backend only stores records and answers the questions below, each in as few round trips as
 * its database allows. `@sessionkit/conformance` is the executable definition of this contract.
 *
 * Time: a backend never reads a clock. Every moment it needs (`now`, expiries, tombstone ends) is
 * passed in by the core, from the store's one clock (`createStore(..., { now })`). A backend whose
 * database expires keys by itself (Redis) declares `capabilities.expiry: "native"`.
 */

/** One stored session, as a backend answers it. */
export interface SessionRecord {
  /** The session id (validated by the core before any I/O). */
  readonly id: string;
  /** The serialized (and possibly encrypted) session. Opaque to the backend: stored byte for byte. */
  readonly payload: string;
  /** Absolute expiry, epoch milliseconds. */
  readonly expiresAt: number;
  /** Owner id ("log out everywhere", `sessionsOf`), or null when the session has no owner. */
  readonly owner: string | null;
  /**
   * When the session was first written, epoch ms (`SessionWrite.now` of the write that created
   * it). Kept by every later write and touch. Absent where the layout has no room for it
   * (`capabilities.createdAt: false`).
   */
  readonly createdAt?: number;
  /**
   * The last write or touch that reached the database, epoch ms (its `now`). Absent where the
   * layout has no room for it (`capabilities.createdAt: false`).
   */
  readonly lastActiveAt?: number;
}

/** An insert-or-update of one session, as the core hands it to `upsert`. */
export interface SessionWrite {
  readonly id: string;
  readonly payload: string;
  /** The expiry the core computed (always after `now`), before the lifetime cap below. */
  readonly expiresAt: number;
  readonly owner: string | null;
  /**
   * The moment of this write. It becomes `createdAt` of a new record and `lastActiveAt` of every
   * record it writes, and it is the moment a tombstone is judged at (live while `until > now`).
   */
  readonly now: number;
  /**
   * The absolute lifetime (the store's `maxLifetime`, in ms), when one is set: the stored expiry
   * is `min(expiresAt, createdAt + maxLifetimeMs)`, with `createdAt` the stored record's (an
   * update keeps it) or `now` (a new record). Only passed to backends that declare `createdAt`.
   */
  readonly maxLifetimeMs?: number;
}

/** A move of one session's expiry, as the core hands it to `touch`. */
export interface SessionTouch {
  readonly id: string;
  /** The new expiry, before the lifetime cap. */
  readonly expiresAt: number;
  /** The moment of the touch: the record must be live at it (`expiresAt > now`); it becomes `lastActiveAt`. */
  readonly now: number;
  /**
   * The owner the core derives from the session being touched. The stored owner stays the truth;
   * an index that must follow the expiry (a sorted set per owner, in another cluster slot) may use
   * it to avoid a read first.
   */
  readonly owner: string | null;
  /** As in `SessionWrite`: the stored expiry is capped at `createdAt + maxLifetimeMs`. */
  readonly maxLifetimeMs?: number;
}

/**
 * What a destroy leaves behind on a backend that keeps tombstones: the id stays unwritable (no
 * `upsert` or `touch` of it takes effect) while `until > now` of the later call. A tombstone is
 * never returned, counted, listed or streamed; `deleteExpired` collects it once `until` has
 * passed, like an expired record; `clear` removes it.
 */
export interface Tombstone {
  /** The moment of the destroy. */
  readonly now: number;
  /** Until when the id stays unwritable, epoch ms (after `now`). */
  readonly until: number;
}

/** Options of `destroyByOwner`. */
export interface OwnerDestroy {
  /** An id of the owner to keep ("sign out the other devices"). */
  readonly except?: string;
  /** Tombstones for what is destroyed, on a backend that declares `tombstones`. */
  readonly tombstone?: Tombstone;
}

/** What a backend declares about itself. Never guessed from the client. */
export interface BackendCapabilities {
  /**
   * Whether owners are stored (`destroyByOwner`, `listByOwner`). A layout with no owner column
   * sets false: the store then refuses the `owner` option at construction and fails the owner
   * operations with `ERR_SESSION_UNSUPPORTED`, instead of silently finding nobody. Default: true.
   */
  readonly owners?: boolean;
  /**
   * Whether `destroy` and `destroyByOwner` leave tombstones (see `Tombstone`), making a logout
   * final: a request that loaded the session before the logout can't write it back. Without them
   * the store deletes, and says once at start that a logout can be undone by a request in flight.
   * Default: false.
   */
  readonly tombstones?: boolean;
  /**
   * Whether records carry `createdAt` and `lastActiveAt`, which `maxLifetime` and `sessionsOf`
   * need. Default: false.
   */
  readonly createdAt?: boolean;
  /**
   * `"native"`: the database removes records by itself at their expiry (Redis key expiry), so
   * `deleteExpired` may find nothing to delete. Default: `"stored"` (records stay until
   * `deleteExpired` removes them; reads filter by expiry meanwhile).
   */
  readonly expiry?: "stored" | "native";
  /**
   * The largest payload (UTF-8 bytes) the backend holds. The store's default `maxSize` follows
   * it, and larger payloads are refused with `ERR_SESSION_TOO_LARGE` before any write.
   * Default: no limit of the backend's own.
   */
  readonly maxPayloadBytes?: number;
  /**
   * How many expired records a first `deleteExpired` call should ask for. The store then sizes
   * batches by how long they take. Default: the store's 1000.
   */
  readonly gcBatchSize?: number;
  /**
   * The target duration of one `deleteExpired` batch, in ms, when the store's `gcBatchTime`
   * option is not set. A database over the network, whose batches block no live request of this
   * process, can take longer batches than an in-process one (each batch stalls the event loop)
   * and pay the per-statement cost (round trip, commit) less often. Default: the store's 10.
   */
  readonly gcBatchTime?: number;
  /**
   * The name of another store whose layout the records are in (e.g. `"connect-session-knex"`),
   * when that store reads them too: it expects the session's plain JSON as the payload, so the
   * store refuses `encryption` and a custom `serializer` at construction. Default: none.
   */
  readonly legacy?: string;
  /**
   * Why this backend can't store `id`, or undefined when it can (for example an id a database
   * reserves). The store refuses such an id with `ERR_SESSION_INVALID_ID` before any I/O.
   * The core itself already refuses ids that are not well-formed UTF-16 or contain NUL.
   */
  readonly idProblem?: (id: string) => string | undefined;
}

/**
 * A storage backend for the sessionkit store. Every method returns a promise; a failure rejects
 * (the core wraps it in a `SessionStoreError` with code `ERR_SESSION_BACKEND`, scrubbed of ids,
 * owners and session contents). The core bounds every call in time (`operationTimeout`).
 */
export interface SessionBackend {
  /** Short name used in logs and error messages, e.g. `"knex:pg"`. */
  readonly name: string;
  /** Declared optional capabilities. */
  readonly capabilities?: BackendCapabilities;

  /** Create tables, indexes or design documents. Idempotent; safe when several processes start at once. */
  init(): Promise<void>;
  /**
   * Read one record; `null` when it is missing or a tombstone. It may return an expired record
   * (the core filters). `now` is for layouts that must compute an expiry (legacy records).
   */
  get(id: string, now: number): Promise<SessionRecord | null>;
  /**
   * Insert or update one record atomically, unless a tombstone of the id is live at `write.now`:
   * then nothing changes and it resolves `false` (where the database can tell; `true` or nothing
   * otherwise). An update keeps `createdAt`; a write over a missing record or a passed tombstone
   * creates a new one. Concurrent upserts of one id never fail: last write wins.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a backend that can't tell may return Promise<void>
  upsert(write: SessionWrite): Promise<boolean | void>;
  /**
   * Move one live record's expiry (and `lastActiveAt`) without rewriting its payload. A no-op
   * when the record is missing, a tombstone, or expired at `touch.now` (a late touch never
   * revives a session). Where the database allows, one conditional write.
   */
  touch(touch: SessionTouch): Promise<void>;
  /**
   * End one session: with `tombstone`, a stored record (live or expired, not yet collected)
   * becomes a tombstone until `tombstone.until`; without, it is deleted. A missing id is left
   * missing either way (nobody can hold a session that was never stored: express-session's
   * regenerate of a new session destroys an id it never wrote, and that must cost no row).
   */
  destroy(id: string, tombstone?: Tombstone): Promise<void>;
  /**
   * End every session of one owner (but `options.except`), as `destroy` does; resolves with how
   * many it ended (an expired record not yet collected may count).
   */
  destroyByOwner(owner: string, options?: OwnerDestroy): Promise<number>;
  /** The owner's records that are live at `now` (no tombstones), in any order. */
  listByOwner(owner: string, now: number): Promise<SessionRecord[]>;
  /** Delete every record and tombstone. */
  clear(): Promise<void>;
  /**
   * Delete up to `limit` records and tombstones whose expiry is `<= now`; resolve with how many.
   * Stateless: each call starts from what is stored, whatever earlier calls did. The core calls
   * again while a batch comes back full. Its cost grows with the expired records, not the total.
   */
  deleteExpired(now: number, limit: number): Promise<number>;
  /** Count records live at `now` (no tombstones). */
  count(now: number): Promise<number>;
  /** Yield every record live at `now` (no tombstones), without loading all at once where the database allows. */
  stream(now: number): AsyncIterable<SessionRecord>;
  /** Release what the backend created (never a client the user passed in). Idempotent. */
  close(): Promise<void>;
}
