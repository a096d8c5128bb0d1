import type { Logger } from "./logger.js";
import type { Serializer } from "./serializer.js";

/** A session as the store sees it: express-session's (or @fastify/session's) session data. */
export type SessionData = { cookie?: { expires?: Date | string | null; maxAge?: number | null } } & Record<
  string,
  unknown
>;

/** Options of `createStore`. Every option is validated at construction. */
export interface StoreOptions {
  /**
   * Lifetime of a session whose cookie has no expiry, in seconds, or a function of the session
   * that returns it. Sessions with `cookie.expires` expire then. Default: 86400 (one day).
   */
  ttl?: number | ((session: SessionData) => number);
  /**
   * Skip a touch when the expiry would move by less than this many seconds since the last write,
   * saving a write per request for busy sessions. 0 touches every time. Default: 0.
   */
  touchAfter?: number;
  /** Milliseconds between background garbage collections (±50% jitter). 0 turns it off. Default: 600000 (10 minutes). */
  gcInterval?: number;
  /** How many expired sessions one GC batch deletes. Default: the backend's declared `gcBatchSize`, else 1000. */
  gcBatchSize?: number;
  /** Returns the owner of a session (e.g. `s => s.user?.id`), for `destroyByOwner`. Default: no owners. */
  owner?: (session: SessionData) => string | number | null | undefined;
  /** Custom serializer. Default: JSON. */
  serializer?: Serializer;
  /**
   * AES-256-GCM encryption of stored sessions. The first key encrypts; every key decrypts, so keys
   * rotate by putting a new one first. A key is 32 bytes (Buffer/Uint8Array), or a string secret
   * of at least 16 characters from which a key is derived with scrypt. Default: no encryption.
   */
  encryption?: { keys: ReadonlyArray<string | Uint8Array> };
  /** Longest accepted session id, in characters. Default: 255. */
  maxIdLength?: number;
  /** Largest stored session, in bytes after serialization and encryption. Default: 1048576 (1 MiB). */
  maxSize?: number;
  /** A pino logger (or the same shape). The store logs through one child of it. Default: silent. */
  logger?: Logger;
}
