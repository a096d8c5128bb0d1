import type { SessionData as ExpressSessionData } from "express-session";
import { Store } from "express-session";
import type { SessionBackend, SessionRecord } from "./backend.js";
import { PayloadCodec } from "./codec.js";
import { type Callback, respond } from "./dual-api.js";
import { ErrorCodes, SessionStoreError } from "./errors.js";
import { expiryOf } from "./expiry.js";
import { GarbageCollector } from "./gc.js";
import { idFingerprint, type Logger } from "./logger.js";
import type { SessionData } from "./options.js";
import { RecentExpiries } from "./recent-expiries.js";
import { DEFAULTS, type ResolvedOptions } from "./resolve-options.js";

type Sessions = Record<string, ExpressSessionData>;

/**
 * The sessionkit store: express-session's `Store` (and a @fastify/session store) over any
 * `SessionBackend`. Every method takes an optional callback; without one it returns a promise.
 * Create it with `createStore(backend, options)`.
 */
export class SessionkitStore extends Store {
  readonly backend: SessionBackend;
  private readonly options: ResolvedOptions;
  private readonly log: Logger;
  private readonly codec: PayloadCodec;
  private readonly gc: GarbageCollector;
  private readonly recent: RecentExpiries | undefined;
  private initialized = false;
  private initializing: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private inFlight = 0;
  private drained: (() => void) | undefined;

  constructor(backend: SessionBackend, options: ResolvedOptions) {
    super();
    this.backend = backend;
    this.options = options;
    this.log = options.logger.child({ name: "sessionkit", backend: backend.name });
    const backendLimit = backend.capabilities?.maxPayloadBytes ?? Number.POSITIVE_INFINITY;
    this.codec = new PayloadCodec(options.serializer, options.encryption, Math.min(options.maxSize, backendLimit));
    this.gc = new GarbageCollector(
      backend,
      { intervalMs: options.gcInterval, batchSize: options.gcBatchSize },
      this.log,
    );
    this.recent = options.touchAfterMs > 0 ? new RecentExpiries() : undefined;
    // Prepare the backend now so the first request doesn't wait for it; a failure is logged
    // and retried by the next operation.
    this.ensureInitialized().catch(() => {});
  }

  /** Reads a session; `null` when it is missing, expired, or can't be read back. */
  get(sid: string): Promise<ExpressSessionData | null>;
  get(sid: string, callback: Callback<ExpressSessionData | null>): void;
  get(sid: string, callback?: Callback<ExpressSessionData | null>) {
    return this.guard(
      "get",
      sid,
      () =>
        // Promise.resolve: a backend that returns a plain value still answers (no TypeError).
        Promise.resolve(this.backend.get(sid)).then((record) => {
          const session = record && this.readRecord(record, Date.now());
          if (session && this.recent) this.recent.set(sid, record.expiresAt);
          return session as ExpressSessionData | null;
        }),
      callback,
    );
  }

  /** Writes a session (insert or replace). The session object is never mutated. */
  set(sid: string, session: ExpressSessionData): Promise<void>;
  set(sid: string, session: ExpressSessionData, callback: Callback<void>): void;
  set(sid: string, session: ExpressSessionData, callback?: Callback<void>) {
    return this.guard(
      "set",
      sid,
      () => {
        const now = Date.now();
        const data = sessionData(session);
        const expiresAt = this.expiryOf(data, now);
        const owner = this.ownerOf(data);
        const payload = this.codec.encode(session);
        if (expiresAt <= now) {
          // Already expired (a cookie in the past): storing it would only be garbage.
          this.recent?.delete(sid);
          return this.backend.destroy(sid);
        }
        return this.remembered(sid, expiresAt, this.backend.upsert({ id: sid, payload, expiresAt, owner }));
      },
      callback,
    );
  }

  /** Moves a session's expiry without rewriting it; skipped within `touchAfter` of the last write. */
  override touch(sid: string, session: ExpressSessionData): Promise<void>;
  override touch(sid: string, session: ExpressSessionData, callback: Callback<void>): void;
  override touch(sid: string, session: ExpressSessionData, callback?: Callback<void>) {
    return this.guard(
      "touch",
      sid,
      () => {
        const now = Date.now();
        const expiresAt = this.expiryOf(sessionData(session), now);
        if (this.recent) {
          const last = this.recent.get(sid);
          if (last !== undefined && expiresAt - last < this.options.touchAfterMs) return Promise.resolve();
        }
        return this.remembered(sid, expiresAt, this.backend.touch(sid, expiresAt, now));
      },
      callback,
    );
  }

  /** Deletes a session. Deleting a missing session is not an error. */
  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: Callback<void>): void;
  destroy(sid: string, callback?: Callback<void>) {
    return this.guard(
      "destroy",
      sid,
      () => {
        this.recent?.delete(sid);
        return this.backend.destroy(sid);
      },
      callback,
    );
  }

  /** Every live session, keyed by id (like express-session's MemoryStore). */
  override all(): Promise<Sessions>;
  override all(callback: Callback<Sessions>): void;
  override all(callback?: Callback<Sessions>) {
    return this.guard(
      "all",
      undefined,
      async () => {
        const now = Date.now();
        const sessions: Sessions = {};
        for await (const record of this.backend.stream(now)) {
          const session = this.readRecord(record, now);
          if (session) sessions[record.id] = session as unknown as ExpressSessionData;
        }
        return sessions;
      },
      callback,
    );
  }

  /** The ids of every live session. */
  ids(): Promise<string[]>;
  ids(callback: Callback<string[]>): void;
  ids(callback?: Callback<string[]>) {
    return this.guard(
      "ids",
      undefined,
      async () => {
        const now = Date.now();
        const ids: string[] = [];
        for await (const record of this.backend.stream(now)) {
          if (record.expiresAt > now) ids.push(record.id);
        }
        return ids;
      },
      callback,
    );
  }

  /** How many live sessions there are. */
  override length(): Promise<number>;
  override length(callback: Callback<number>): void;
  override length(callback?: Callback<number>) {
    return this.guard("length", undefined, () => this.backend.count(Date.now()), callback);
  }

  /** Deletes every session. */
  override clear(): Promise<void>;
  override clear(callback: Callback<void>): void;
  override clear(callback?: Callback<void>) {
    return this.guard(
      "clear",
      undefined,
      async () => {
        this.recent?.clear();
        await this.backend.clear();
      },
      callback,
    );
  }

  /** Deletes expired sessions now, in batches; resolves with how many were deleted. */
  prune(): Promise<number>;
  prune(callback: Callback<number>): void;
  prune(callback?: Callback<number>) {
    return this.guard("prune", undefined, () => this.gc.run(), callback);
  }

  /** Deletes every session of one owner ("log out everywhere"); resolves with how many. */
  destroyByOwner(owner: string | number): Promise<number>;
  destroyByOwner(owner: string | number, callback: Callback<number>): void;
  destroyByOwner(owner: string | number, callback?: Callback<number>) {
    return this.guard(
      "destroyByOwner",
      undefined,
      async () => {
        if (this.backend.capabilities?.owners === false) {
          throw new SessionStoreError(
            ErrorCodes.UNSUPPORTED,
            `sessionkit: backend ${this.backend.name} does not store owners, so destroyByOwner is unavailable`,
          );
        }
        const id = normalizeOwner(owner);
        if (id === null) {
          throw new SessionStoreError(
            ErrorCodes.INVALID_ID,
            "sessionkit: owner must be a non-empty string or a number",
          );
        }
        this.recent?.clear();
        return this.backend.destroyByOwner(id);
      },
      callback,
    );
  }

  /**
   * Stops garbage collection, waits for operations under way, and closes the backend (which
   * releases only what it created). Idempotent. Later operations fail with `ERR_SESSION_CLOSED`.
   */
  close(): Promise<void>;
  close(callback: Callback<void>): void;
  close(callback?: Callback<void>) {
    this.closing ??= this.shutDown();
    return respond(this.closing, callback);
  }

  private async shutDown(): Promise<void> {
    await this.gc.stop();
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.initializing?.catch(() => {});
    try {
      await this.backend.close();
      this.log.debug({ op: "close" }, "store closed");
    } catch (cause) {
      throw this.failure("close", cause);
    }
  }

  /**
   * Runs one operation: refuses after close, validates the id before any I/O, prepares the
   * backend, counts the operation in flight (close waits for it), logs it and wraps failures.
   * With a callback, the callback gets the outcome on a later tick, outside our promise chain
   * (a throwing callback can't become an unhandled rejection of ours), and nothing is
   * returned; without one, the promise is returned. Not `async`, and the callback is attached
   * here rather than on a second promise: on the hot path each saves a promise per request.
   */
  private guard<T>(
    op: Operation,
    sid: string | undefined,
    work: () => Promise<T>,
    callback: Callback<T> | undefined,
  ): Promise<T> | undefined {
    try {
      if (this.closing) throw new SessionStoreError(ErrorCodes.CLOSED, `sessionkit: ${op} after close()`);
      if (ID_OPERATIONS.has(op)) this.assertId(sid);
    } catch (error) {
      const failure = this.failure(op, error, sid);
      if (typeof callback !== "function") return Promise.reject(failure);
      process.nextTick(callback, failure);
      return undefined;
    }
    this.inFlight++;
    let running: Promise<T>;
    try {
      // Promise.resolve: a backend returning a non-promise still gets an answer, not a TypeError here.
      running = this.initialized ? Promise.resolve(work()) : this.ensureInitialized().then(work);
    } catch (error) {
      running = Promise.reject(error);
    }
    if (typeof callback === "function") {
      running.then(
        (result) => {
          this.succeeded(op, sid);
          process.nextTick(callback, null, result);
        },
        (error: unknown) => {
          this.settled();
          process.nextTick(callback, this.failure(op, error, sid));
        },
      );
      return undefined;
    }
    return running.then(
      (result) => {
        this.succeeded(op, sid);
        return result;
      },
      (error: unknown) => {
        this.settled();
        throw this.failure(op, error, sid);
      },
    );
  }

  /** `write`, then (with touchAfter on) the expiry it wrote remembered. Adds no promise when touchAfter is off. */
  private remembered(sid: string, expiresAt: number, write: Promise<void>): Promise<void> {
    const recent = this.recent;
    if (!recent) return write;
    return Promise.resolve(write).then(() => {
      recent.set(sid, expiresAt);
    });
  }

  private succeeded(op: Operation, sid: string | undefined): void {
    this.settled();
    if (this.debugEnabled()) this.log.debug({ op, sid: sid && idFingerprint(sid) });
  }

  /** Whether debug lines are wanted; a logger without isLevelEnabled gets them all. Spares the id hash otherwise. */
  private debugEnabled(): boolean {
    return this.log.isLevelEnabled?.("debug") ?? true;
  }

  private settled(): void {
    if (--this.inFlight === 0 && this.drained) this.drained();
  }

  private ensureInitialized(): Promise<void> {
    this.initializing ??= this.backend.init().then(
      () => {
        this.initialized = true;
        this.gc.start();
      },
      (cause: unknown) => {
        this.initializing = undefined; // the next operation tries again
        throw this.failure("init", cause);
      },
    );
    return this.initializing;
  }

  /** Our own errors pass through; anything else is the backend's and is wrapped with its cause. */
  private failure(op: string, error: unknown, sid?: string): SessionStoreError {
    if (error instanceof SessionStoreError) {
      if (error.code !== ErrorCodes.BACKEND && this.debugEnabled()) {
        this.log.debug({ op, code: error.code, sid: sid && idFingerprint(sid) });
      }
      return error;
    }
    const message = messageOf(error);
    this.log.error({ op, err: error, sid: sid && idFingerprint(sid) }, "session backend failed");
    return new SessionStoreError(
      ErrorCodes.BACKEND,
      `sessionkit: ${this.backend.name} failed during ${op}: ${message}`,
      { cause: error },
    );
  }

  private assertId(sid: unknown): asserts sid is string {
    if (typeof sid !== "string" || sid.length === 0 || sid.length > this.options.maxIdLength) {
      const what =
        typeof sid !== "string" ? `a ${sid === null ? "null" : typeof sid}` : `${sid.length} characters long`;
      throw new SessionStoreError(
        ErrorCodes.INVALID_ID,
        `sessionkit: a session id must be a string of 1 to ${this.options.maxIdLength} characters, got ${what}`,
      );
    }
  }

  /** Decodes a live record; an expired or unreadable one reads as missing (the latter with a warning). */
  private readRecord(record: SessionRecord, now: number): Record<string, unknown> | null {
    if (!(record.expiresAt > now)) return null;
    try {
      return this.codec.decode(record.payload);
    } catch (error) {
      this.log.warn(
        { op: "read", sid: idFingerprint(record.id), reason: error instanceof Error ? error.message : String(error) },
        "stored session could not be read back; treating it as missing",
      );
      return null;
    }
  }

  private expiryOf(session: SessionData, now: number): number {
    try {
      return expiryOf(session, this.options.ttl, DEFAULTS.ttl, now);
    } catch (cause) {
      throw new SessionStoreError(ErrorCodes.SERIALIZE, "sessionkit: the ttl function threw", { cause });
    }
  }

  private ownerOf(session: SessionData): string | null {
    if (!this.options.owner) return null;
    let owner: unknown;
    try {
      owner = this.options.owner(session);
    } catch (cause) {
      throw new SessionStoreError(ErrorCodes.SERIALIZE, "sessionkit: the owner function threw", { cause });
    }
    return normalizeOwner(owner);
  }
}

type Operation = "get" | "set" | "touch" | "destroy" | "all" | "ids" | "length" | "clear" | "prune" | "destroyByOwner";

/** Operations on one session: their id is validated before any I/O. */
const ID_OPERATIONS: ReadonlySet<Operation> = new Set(["get", "set", "touch", "destroy"]);

/** Some drivers reject with plain objects ({ message, status }); keep their message readable. */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === "string") return message;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

function sessionData(session: unknown): SessionData {
  if (session === null || typeof session !== "object") {
    throw new SessionStoreError(ErrorCodes.SERIALIZE, "sessionkit: a session must be an object");
  }
  return session as SessionData;
}

function normalizeOwner(owner: unknown): string | null {
  if (typeof owner === "number" && Number.isFinite(owner)) return String(owner);
  if (typeof owner === "string" && owner.length > 0) return owner;
  return null;
}
