import type { Logger } from "./logger.js";
import type { Serializer } from "./serializer.js";

/**
 * The cookie part of a session, as express-session and @fastify/session hand it to a store.
 * `expires` (a Date, or an ISO string once stored) is what the store expires the session by.
 */
export interface SessionCookie {
  expires?: Date | string | null;
  maxAge?: number | null;
  originalMaxAge?: number | null;
}

/**
 * A session as the store sees it: an object with a `cookie`. Your own fields are typed by the
 * session type parameter of `createStore` (by default `any`, so `s.user?.id` compiles as it is;
 * pass your type, e.g. `createStore<MySession>(...)`, to have them checked).
 */
// biome-ignore lint/suspicious/noExplicitAny: the default session type is open, as express-session's own
export type SessionData<Fields = Record<string, any>> = Fields & { cookie: SessionCookie };

/** The store's `encryption` option. */
export interface EncryptionOptions {
  /**
   * The keys, newest first: the first encrypts, every one decrypts, so keys rotate by putting a
   * new one first. A key is 32 bytes (Buffer/Uint8Array), or a string secret of at least 16
   * characters from which a key is derived with scrypt. Required (at least one).
   */
  keys: ReadonlyArray<string | Uint8Array>;
  /**
   * Also read records encrypted by sessionkit 0.1 (`skenc1.`), whose ciphertext was not bound to
   * the session id; new writes are always bound (`skenc2.`). Set `false` once every session
   * written before 0.2 has expired. Default: `true`.
   */
  acceptUnbound?: boolean;
}

/** Options of `createStore`. Every option is validated at construction; unknown ones are refused. */
// biome-ignore lint/suspicious/noExplicitAny: see SessionData
export interface StoreOptions<Fields = Record<string, any>> {
  /**
   * Lifetime in seconds of a session whose cookie has no `expires` (or a function of the session
   * returning it). Sessions with `cookie.expires` (express-session sets it from `maxAge`) expire
   * then. At most ten years. Default: 86400 (one day).
   */
  ttl?: number | ((session: SessionData<Fields>) => number);
  /**
   * Skip a touch when the expiry would move by less than this many seconds since the last write
   * this process saw, saving a write per request for busy sessions. 0 touches every time.
   * `lastActiveAt` in `sessionsOf` is then approximate by up to this much. Default: 0.
   */
  touchAfter?: number;
  /**
   * Absolute lifetime in seconds: a session expires `maxLifetime` after it was first written at
   * the latest, whatever touches, rolling cookies or writes do (OWASP's absolute timeout). Needs
   * a backend that stores creation times. Default: none.
   */
  maxLifetime?: number;
  /**
   * Seconds a destroyed session id stays unwritable (a tombstone), so that a request that loaded
   * the session before a logout can't write it back when it finishes. 0 deletes without a
   * tombstone. Only on backends that keep tombstones. Default: 3600.
   */
  tombstoneTtl?: number;
  /**
   * Milliseconds between background garbage collections (each wait jittered ±50%, doubled after
   * failures up to 32 times). 0 turns it off; `prune()` still works. At most 2147483647.
   * Default: 600000 (10 minutes).
   */
  gcInterval?: number;
  /**
   * Expired sessions asked for in a run's first batch, at most (a smaller size an earlier, slow
   * run learned carries over). Default: the backend's declared `gcBatchSize`, else 1000.
   */
  gcBatchSize?: number;
  /**
   * Target duration of one GC batch, in ms: each batch is sized to take about this long at the
   * pace the last one went, and the event loop is yielded between batches, so a large backlog
   * never stalls live requests for long (on SQLite a batch blocks the process while it runs).
   * Default: the backend's declared `gcBatchTime`, else 10.
   */
  gcBatchTime?: number;
  /**
   * Returns the owner of a session (e.g. `(s) => s.user?.id`), for `destroyByOwner`, `sessionsOf`
   * and `destroyOthers`. `undefined` or `null` means no owner. Default: no owners.
   */
  owner?: (session: SessionData<Fields>) => string | number | null | undefined;
  /** Custom serializer. Default: JSON. */
  serializer?: Serializer;
  /** AES-256-GCM encryption of stored sessions, bound to the session id. Default: no encryption. */
  encryption?: EncryptionOptions;
  /** Longest accepted session id (and owner), in characters. Default: 255. */
  maxIdLength?: number;
  /**
   * Largest stored session, in bytes after serialization and encryption. Default: what the
   * backend declares it holds (`capabilities.maxPayloadBytes`), else 16777216 (16 MiB).
   */
  maxSize?: number;
  /**
   * Milliseconds a backend call may take before it fails with `ERR_SESSION_TIMEOUT` (a hung
   * database; for `prune()`, `all()` and `ids()`, each batch or page). `close()` waits at most this long for work under way, then this long for the
   * backend. Default: 10000.
   */
  operationTimeout?: number;
  /** A pino logger (or the same shape). The store logs through one child of it. Default: silent. */
  logger?: Logger;
  /**
   * The store's clock, in epoch ms: every expiry, touch, lifetime and tombstone is computed from
   * it, and backends get their `now` from it. Tests pass a controllable one. Default: `Date.now`.
   */
  now?: () => number;
}
