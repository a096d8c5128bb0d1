import type { SessionBackend, SessionRecord, Tombstone } from "./backend.js";
import { PayloadCodec } from "./codec.js";
import { Deadlines } from "./deadline.js";
import { type Callback, respond } from "./dual-api.js";
import { ErrorCodes, SessionStoreError } from "./errors.js";
import { GarbageCollector } from "./gc.js";
import { idFingerprint, type Logger } from "./logger.js";
import type { SessionData } from "./options.js";
import { RecentExpiries } from "./recent-expiries.js";
import { MAX_TTL_SECONDS, type ResolvedOptions } from "./resolve-options.js";
import { scrubError } from "./scrub.js";
import { StoreBase } from "./store-base.js";

/** A session as the store returns it (express-session turns it into its own `Session`). */
// biome-ignore lint/suspicious/noExplicitAny: the default session type is open, as express-session's own
type Session<Fields = Record<string, any>> = SessionData<Fields>;

/** One of an owner's sessions, as `sessionsOf` lists them. */
// biome-ignore lint/suspicious/noExplicitAny: see Session
export interface OwnedSession<Fields = Record<string, any>> {
  /** The session id: a bearer credential. Use it to `destroy` the session; never send it to a browser. */
  id: string;
  /** The session's data. */
  session: Session<Fields>;
  /** When the session was first written. */
  createdAt: Date | null;
  /** The last write or touch that reached the database (approximate by up to `touchAfter`). */
  lastActiveAt: Date | null;
  /** When the session expires unless touched again. */
  expiresAt: Date;
}

type Operation =
  | "get"
  | "set"
  | "touch"
  | "destroy"
  | "all"
  | "ids"
  | "length"
  | "clear"
  | "prune"
  | "destroyByOwner"
  | "sessionsOf"
  | "destroyOthers";

/** Operations that write one session: their failures are also emitted as `error` events when someone listens. */
const WRITES: ReadonlySet<Operation> = new Set(["set", "touch", "destroy"]);
const MAX_EXPIRY_MS = MAX_TTL_SECONDS * 1000;
/** Lone surrogates: not well-formed UTF-16, and databases silently replace them (two ids, one session). */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * The sessionkit store: an express-session store (and a @fastify/session store) over any
 * `SessionBackend`. Every method takes an optional callback; without one it returns a promise.
 * Create it with `createStore(backend, options)`.
 *
 * Events: `error` (only when a listener is attached; never thrown at an app that has none) for
 * every failed `set`, `touch` or `destroy`, which express-session may report after the response
 * went out.
 */
// biome-ignore lint/suspicious/noExplicitAny: see Session
export class SessionkitStore<Fields = Record<string, any>> extends StoreBase {
  readonly backend: SessionBackend;
  private readonly options: ResolvedOptions;
  private readonly log: Logger;
  private readonly codec: PayloadCodec;
  private readonly gc: GarbageCollector;
  private readonly deadlines: Deadlines;
  private readonly recent: RecentExpiries | undefined;
  private readonly now: () => number;
  private initialized = false;
  private initializing: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private inFlight = 0;
  private drained: (() => void) | undefined;

  constructor(backend: SessionBackend, options: ResolvedOptions) {
    super();
    this.backend = backend;
    this.options = options;
    this.now = options.now;
    this.log = options.logger.child({ name: "sessionkit", backend: backend.name });
    this.codec = new PayloadCodec(options.serializer, options.encryption, options.maxSize);
    this.deadlines = new Deadlines(options.operationTimeout, backend.name);
    this.gc = new GarbageCollector(
      backend,
      {
        intervalMs: options.gcInterval,
        batchSize: options.gcBatchSize,
        batchTime: options.gcBatchTime,
        now: this.now,
        bound: (work, label) =>
          this.deadlines.bound(work, label).catch((e: unknown) => {
            throw this.wrap("prune", e, []);
          }),
      },
      this.log,
    );
    this.recent = options.touchAfterMs > 0 ? new RecentExpiries() : undefined;
    // Prepare the backend now so the first request doesn't wait for it; a failure is logged
    // and retried by the next operation.
    this.ensureInitialized().catch(() => {});
  }

  /** Reads a session; `null` when it is missing, expired, destroyed, or can't be read back. */
  get(sid: string): Promise<Session<Fields> | null>;
  get(sid: string, callback: Callback<Session<Fields> | null>): void;
  get(sid: string, callback?: Callback<Session<Fields> | null>) {
    return this.guard(
      "get",
      sid,
      () => {
        const now = this.now();
        // Promise.resolve: a backend that returns a plain value still answers.
        return Promise.resolve(this.backend.get(sid, now)).then((record) => {
          const session = record && this.readRecord(record, now);
          if (session && this.recent) this.recent.set(sid, record.expiresAt);
          return session as Session<Fields> | null;
        });
      },
      callback,
    );
  }

  /** Writes a session (insert or update). The session object is never mutated. A destroyed id is not written. */
  set(sid: string, session: Session<Fields>): Promise<void>;
  set(sid: string, session: Session<Fields>, callback: Callback<void>): void;
  set(sid: string, session: Session<Fields>, callback?: Callback<void>) {
    return this.guard(
      "set",
      sid,
      () => {
        const now = this.now();
        const expiresAt = this.expiryOf(session, now);
        if (expiresAt <= now) {
          // Already expired (a cookie in the past): storing it would only be garbage.
          this.recent?.delete(sid);
          return this.backend.destroy(sid, this.tombstone(now));
        }
        const owner = this.ownerOf(session);
        const payload = this.codec.encode(session, sid);
        const lifetime = this.options.maxLifetimeMs;
        const written = this.backend.upsert(
          lifetime === undefined
            ? { id: sid, payload, expiresAt, owner, now }
            : { id: sid, payload, expiresAt, owner, now, maxLifetimeMs: lifetime },
        );
        // Nothing to do with the answer: the store resolves nothing for a write (see settle).
        if (!this.recent && !this.debugEnabled()) return written as Promise<void>;
        return Promise.resolve(written).then((result) => {
          if (result === false) {
            // A request that finished after a logout: refused by the tombstone, not an error.
            this.recent?.delete(sid);
            this.log.debug({ op: "set", sidHash: idFingerprint(sid) }, "write refused: the session was destroyed");
          } else if (this.recent) this.recent.set(sid, expiresAt);
        });
      },
      callback,
      session,
    );
  }

  /** Moves a session's expiry without rewriting it; skipped within `touchAfter` of the last write. */
  touch(sid: string, session: Session<Fields>): Promise<void>;
  touch(sid: string, session: Session<Fields>, callback: Callback<void>): void;
  touch(sid: string, session: Session<Fields>, callback?: Callback<void>) {
    return this.guard(
      "touch",
      sid,
      () => {
        const now = this.now();
        const expiresAt = this.expiryOf(session, now);
        if (this.recent) {
          const last = this.recent.get(sid);
          if (last !== undefined && expiresAt - last < this.options.touchAfterMs) return Promise.resolve();
        }
        const owner = this.ownerOf(session);
        const lifetime = this.options.maxLifetimeMs;
        const touched = this.backend.touch(
          lifetime === undefined
            ? { id: sid, expiresAt, now, owner }
            : { id: sid, expiresAt, now, owner, maxLifetimeMs: lifetime },
        );
        const recent = this.recent;
        return recent ? Promise.resolve(touched).then(() => recent.set(sid, expiresAt)) : touched;
      },
      callback,
      session,
    );
  }

  /** Ends a session for good: no later write or touch of the id, from any process, brings it back. */
  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: Callback<void>): void;
  destroy(sid: string, callback?: Callback<void>) {
    return this.guard(
      "destroy",
      sid,
      () => {
        this.recent?.delete(sid);
        return this.backend.destroy(sid, this.tombstone(this.now()));
      },
      callback,
    );
  }

  /** Every live session, keyed by id (an object without prototype). */
  all(): Promise<Record<string, Session<Fields>>>;
  all(callback: Callback<Record<string, Session<Fields>>>): void;
  all(callback?: Callback<Record<string, Session<Fields>>>) {
    return this.guard(
      "all",
      undefined,
      async () => {
        const now = this.now();
        const sessions: Record<string, Session<Fields>> = Object.create(null);
        for await (const record of this.records(now)) {
          const session = this.readRecord(record, now);
          if (session) sessions[record.id] = session as Session<Fields>;
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
        const now = this.now();
        const ids: string[] = [];
        for await (const record of this.records(now)) if (record.expiresAt > now) ids.push(record.id);
        return ids;
      },
      callback,
    );
  }

  /** How many live sessions there are. */
  length(): Promise<number>;
  length(callback: Callback<number>): void;
  length(callback?: Callback<number>) {
    return this.guard("length", undefined, () => this.backend.count(this.now()), callback);
  }

  /** Deletes every session (and every tombstone). */
  clear(): Promise<void>;
  clear(callback: Callback<void>): void;
  clear(callback?: Callback<void>) {
    return this.guard(
      "clear",
      undefined,
      () => {
        this.recent?.clear();
        return this.backend.clear();
      },
      callback,
    );
  }

  /**
   * Deletes expired sessions now, in batches; resolves with how many records were deleted. Each
   * batch is bounded by `operationTimeout`, not the whole run, so a large backlog can take longer.
   */
  prune(): Promise<number>;
  prune(callback: Callback<number>): void;
  prune(callback?: Callback<number>) {
    return this.guard("prune", undefined, () => this.gc.run(), callback);
  }

  /** Ends every session of one owner ("log out everywhere"), for good; resolves with how many. */
  destroyByOwner(owner: string | number): Promise<number>;
  destroyByOwner(owner: string | number, callback: Callback<number>): void;
  destroyByOwner(owner: string | number, callback?: Callback<number>) {
    return this.guard(
      "destroyByOwner",
      undefined,
      () => {
        const id = this.ownerArgument("destroyByOwner", owner);
        this.recent?.clear();
        const tombstone = this.tombstone(this.now());
        return this.backend.destroyByOwner(id, tombstone ? { tombstone } : {});
      },
      callback,
      undefined,
      owner,
    );
  }

  /**
   * Ends every session of one owner but `keepSid` ("sign out the other devices"), for good;
   * resolves with how many.
   */
  destroyOthers(owner: string | number, keepSid: string): Promise<number>;
  destroyOthers(owner: string | number, keepSid: string, callback: Callback<number>): void;
  destroyOthers(owner: string | number, keepSid: string, callback?: Callback<number>) {
    return this.guard(
      "destroyOthers",
      keepSid,
      () => {
        const id = this.ownerArgument("destroyOthers", owner);
        this.recent?.clear();
        const tombstone = this.tombstone(this.now());
        return this.backend.destroyByOwner(id, tombstone ? { except: keepSid, tombstone } : { except: keepSid });
      },
      callback,
      undefined,
      owner,
    );
  }

  /** The owner's live sessions, most recently active first. */
  sessionsOf(owner: string | number): Promise<OwnedSession<Fields>[]>;
  sessionsOf(owner: string | number, callback: Callback<OwnedSession<Fields>[]>): void;
  sessionsOf(owner: string | number, callback?: Callback<OwnedSession<Fields>[]>) {
    return this.guard(
      "sessionsOf",
      undefined,
      async () => {
        const id = this.ownerArgument("sessionsOf", owner);
        const now = this.now();
        const records = await this.backend.listByOwner(id, now);
        const out: OwnedSession<Fields>[] = [];
        for (const record of records) {
          const session = this.readRecord(record, now);
          if (!session || record.owner !== id) continue;
          out.push({
            id: record.id,
            session: session as Session<Fields>,
            createdAt: record.createdAt === undefined ? null : new Date(record.createdAt),
            lastActiveAt: record.lastActiveAt === undefined ? null : new Date(record.lastActiveAt),
            expiresAt: new Date(record.expiresAt),
          });
        }
        return out.sort((a, b) => (b.lastActiveAt?.getTime() ?? 0) - (a.lastActiveAt?.getTime() ?? 0));
      },
      callback,
      undefined,
      owner,
    );
  }

  /**
   * Stops garbage collection, waits for operations under way, and closes the backend (which
   * releases only what it created). Idempotent. Bounded in time even on a hung database: work
   * under way fails with `ERR_SESSION_TIMEOUT` after `operationTimeout`, and the backend gets as
   * long to close. Later operations fail with `ERR_SESSION_CLOSED`.
   */
  close(): Promise<void>;
  close(callback: Callback<void>): void;
  close(callback?: Callback<void>) {
    this.closing ??= this.shutDown();
    return respond(this.closing, callback);
  }

  private async shutDown(): Promise<void> {
    await this.gc.stop();
    // Every operation has a deadline, so this wait is bounded by operationTimeout.
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.initializing?.catch(() => {});
    try {
      await this.deadlines.bound(Promise.resolve(this.backend.close()), "close");
      this.log.debug({ op: "close" }, "store closed");
    } catch (cause) {
      throw this.wrap("close", cause, []);
    } finally {
      this.deadlines.stop();
    }
  }

  /**
   * Runs one operation: refuses after close, validates the id before any I/O, prepares the
   * backend, bounds the call in time, counts it in flight (close waits for it), logs it and
   * turns failures into scrubbed errors. With a callback, the callback gets the outcome on a later
   * tick, outside our promise chain, and nothing is returned; without one, the promise is
   * returned. Not `async`: on the hot path that saves a promise per request.
   */
  private guard<T>(
    op: Operation,
    sid: string | undefined,
    work: () => Promise<T> | T,
    callback: Callback<T> | undefined,
    session?: unknown,
    owner?: unknown,
  ): Promise<T> | undefined {
    try {
      if (this.closing) throw new SessionStoreError(ErrorCodes.CLOSED, `sessionkit: ${op} after close()`);
      if (sid !== undefined || ID_OPERATIONS.has(op)) this.assertId(sid);
    } catch (error) {
      const failure = this.wrap(op, error, [sid]);
      this.reportWrite(op, failure);
      if (typeof callback !== "function") return Promise.reject(failure);
      process.nextTick(callback, failure);
      return undefined;
    }
    this.inFlight++;
    let started: Promise<T>;
    try {
      started = this.initialized ? Promise.resolve(work()) : this.ensureInitialized().then(work);
    } catch (error) {
      started = Promise.reject(error);
    }
    if (typeof callback === "function") {
      this.settle(
        op,
        sid,
        started,
        session,
        owner,
        (result) => process.nextTick(callback, null, result),
        (failure) => process.nextTick(callback, failure),
      );
      return undefined;
    }
    return new Promise<T>((resolve, reject) => this.settle(op, sid, started, session, owner, resolve, reject));
  }

  /**
   * Settles one operation once its work does, or with a TIMEOUT error once its deadline passes,
   * whichever comes first: one promise reaction per call, no promise of its own. Writes (set,
   * touch, destroy) resolve nothing, whatever the backend answered.
   */
  private settle<T>(
    op: Operation,
    sid: string | undefined,
    started: Promise<T>,
    session: unknown,
    owner: unknown,
    resolve: (result: T) => void,
    reject: (failure: SessionStoreError) => void,
  ): void {
    const failed = (error: unknown) => {
      this.settled();
      const failure = this.wrap(op, error, [sid, secretOf(owner), ...this.secretsOf(session)]);
      this.reportWrite(op, failure);
      reject(failure);
    };
    // An operation made of steps (GC batches, stream pages) has a deadline per step instead
    // (gc.ts, records()): one over the whole would fail a large table that is making progress.
    const watched = STEPWISE.has(op) ? undefined : this.deadlines.start(op, failed);
    started.then(
      (result) => {
        if (watched && !this.deadlines.finish(watched)) return;
        this.settled();
        resolve((WRITES.has(op) ? undefined : result) as T);
        if (this.debugEnabled()) this.log.debug({ op, sidHash: sid && idFingerprint(sid) });
      },
      (error: unknown) => {
        if (!watched || this.deadlines.finish(watched)) failed(error);
      },
    );
  }

  /** The strings a failed write's error text must not show: the owner and the payload as written. */
  private secretsOf(session: unknown): string[] {
    if (session === undefined || session === null || typeof session !== "object") return [];
    const secrets: string[] = [];
    try {
      const owner = this.options.owner?.(session as SessionData);
      if (owner !== undefined && owner !== null) secrets.push(String(owner));
      secrets.push(this.options.serializer.stringify(session));
    } catch {
      // an unserializable session never reached the backend
    }
    return secrets;
  }

  private reportWrite(op: Operation, failure: SessionStoreError): void {
    if (!WRITES.has(op)) return;
    if (failure.code === ErrorCodes.SERIALIZE || failure.code === ErrorCodes.TOO_LARGE) {
      // The request's change is dropped, often after the response went out: make it visible.
      this.log.error({ op, code: failure.code }, failure.message);
    }
    if (this.listenerCount("error") === 0) return;
    try {
      this.emit("error", failure);
    } catch {
      // A listener that throws must neither hold the caller (who still gets its error) nor escape
      // from inside the store's machinery. Its error is not logged: it may quote the session.
      this.log.error({ op, code: failure.code }, "an error listener threw");
    }
  }

  /** Whether debug lines are wanted; a logger without isLevelEnabled gets them all. Spares the id hash otherwise. */
  private debugEnabled(): boolean {
    return this.log.isLevelEnabled?.("debug") ?? true;
  }

  private settled(): void {
    if (--this.inFlight === 0 && this.drained) this.drained();
  }

  private ensureInitialized(): Promise<void> {
    this.initializing ??= this.deadlines.bound(Promise.resolve(this.backend.init()), "init").then(
      () => {
        this.initialized = true;
        this.announce();
        this.gc.start();
      },
      (cause: unknown) => {
        this.initializing = undefined; // the next operation tries again
        throw this.wrap("init", cause, []);
      },
    );
    return this.initializing;
  }

  /** Says once, at start, what this backend can't promise, so nothing degrades silently. */
  private announce(): void {
    if (this.backend.capabilities?.tombstones !== true) {
      this.log.info(
        { op: "init", tombstones: false },
        "this backend keeps no tombstones: a request in flight during a logout can write the session back",
      );
    }
  }

  /**
   * Our own errors pass through; anything else is the backend's and is wrapped, its text scrubbed
   * of the operation's id, owner and contents (`cause` is a scrubbed copy, never the driver's object).
   */
  private wrap(op: string, error: unknown, secrets: ReadonlyArray<string | null | undefined>): SessionStoreError {
    if (error instanceof SessionStoreError) {
      if (error.code === ErrorCodes.TIMEOUT) {
        this.log.error({ op, code: error.code, ms: this.options.operationTimeout }, "session backend timed out");
      } else if (error.code !== ErrorCodes.BACKEND && this.debugEnabled()) {
        this.log.debug({ op, code: error.code });
      }
      return error;
    }
    const scrubbed = scrubError(error, secrets);
    const cause = Object.assign(
      new Error(scrubbed.message),
      { name: scrubbed.name },
      scrubbed.code === undefined ? {} : { code: scrubbed.code },
    );
    this.log.error({ op, err: cause }, "session backend failed");
    return new SessionStoreError(
      ErrorCodes.BACKEND,
      `sessionkit: ${this.backend.name} failed during ${op}: ${scrubbed.message}`,
      { cause },
    );
  }

  private assertId(sid: unknown): asserts sid is string {
    const problem = this.idProblem(sid);
    if (problem) {
      throw new SessionStoreError(ErrorCodes.INVALID_ID, `sessionkit: a session id ${problem}`);
    }
  }

  private idProblem(id: unknown): string | undefined {
    const max = this.options.maxIdLength;
    if (typeof id !== "string") return `must be a string, got ${id === null ? "null" : typeof id}`;
    if (id.length === 0 || id.length > max) return `must be 1 to ${max} characters long, got ${id.length}`;
    if (id.includes("\0")) return "must not contain NUL";
    if (LONE_SURROGATE.test(id)) return "must be well-formed UTF-16 (it has a lone surrogate)";
    const backendProblem = this.backend.capabilities?.idProblem?.(id);
    return backendProblem ? `${backendProblem} (${this.backend.name})` : undefined;
  }

  /**
   * The records live at `now`: the backend's stream, each step bounded by `operationTimeout`;
   * stops at `close()` (so close waits for one step at most), and releases the backend's iterator
   * when it stops early.
   */
  private async *records(now: number): AsyncIterable<SessionRecord> {
    const iterator = this.backend.stream(now)[Symbol.asyncIterator]();
    let done = false;
    try {
      for (;;) {
        if (this.closing) throw new SessionStoreError(ErrorCodes.CLOSED, "sessionkit: close() during a listing");
        const step = await this.deadlines.bound(Promise.resolve(iterator.next()), "stream");
        if (step.done) {
          done = true;
          return;
        }
        yield step.value;
      }
    } finally {
      // Not awaited: after a timeout the backend may never answer this either.
      if (!done) Promise.resolve(iterator.return?.()).catch(() => {});
    }
  }

  /** Decodes a live record; an expired or unreadable one reads as missing (the latter with a warning). */
  private readRecord(record: SessionRecord, now: number): Record<string, unknown> | null {
    if (!(record.expiresAt > now)) return null;
    try {
      return this.codec.decode(record.payload, record.id);
    } catch (error) {
      this.log.warn(
        {
          op: "read",
          sidHash: idFingerprint(record.id),
          reason: error instanceof Error ? error.message : "unreadable",
        },
        "stored session could not be read back; treating it as missing",
      );
      return null;
    }
  }

  /** The tombstone a destroy at `now` leaves, or undefined when tombstones are off. */
  private tombstone(now: number): Tombstone | undefined {
    return this.options.tombstoneMs > 0 ? { now, until: now + this.options.tombstoneMs } : undefined;
  }

  /**
   * When a session expires, in epoch ms: its cookie's `expires` when it has one, otherwise now +
   * ttl. Never more than ten years ahead (a cookie set further out is stored with that cap).
   */
  private expiryOf(session: unknown, now: number): number {
    if (session === null || typeof session !== "object") {
      throw new SessionStoreError(ErrorCodes.SERIALIZE, "sessionkit: a session must be an object");
    }
    const expires = (session as SessionData).cookie?.expires;
    let at = Number.NaN;
    if (expires instanceof Date) at = expires.getTime();
    else if (typeof expires === "string") at = Date.parse(expires);
    if (!Number.isFinite(at)) {
      const ttl = this.options.ttl;
      let seconds: unknown;
      try {
        seconds = typeof ttl === "function" ? ttl(session as SessionData) : ttl;
      } catch (cause) {
        throw new SessionStoreError(ErrorCodes.SERIALIZE, "sessionkit: the ttl function threw", { cause });
      }
      if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_TTL_SECONDS) {
        throw new SessionStoreError(
          ErrorCodes.SERIALIZE,
          `sessionkit: the ttl function must return seconds, above 0 and at most ${MAX_TTL_SECONDS}, got ${String(seconds)}`,
        );
      }
      at = now + seconds * 1000;
    }
    return Math.min(at, now + MAX_EXPIRY_MS);
  }

  private ownerOf(session: unknown): string | null {
    const ownerFn = this.options.owner;
    if (!ownerFn) return null;
    let owner: unknown;
    try {
      owner = ownerFn(session as SessionData);
    } catch (cause) {
      throw new SessionStoreError(ErrorCodes.SERIALIZE, "sessionkit: the owner function threw", { cause });
    }
    if (owner === undefined || owner === null) return null;
    const normalized = this.normalizeOwner(owner);
    if (normalized === null) {
      throw new SessionStoreError(
        ErrorCodes.SERIALIZE,
        "sessionkit: the owner function must return a non-empty string, a finite number, null or undefined",
      );
    }
    return normalized;
  }

  private normalizeOwner(owner: unknown): string | null {
    const text = typeof owner === "number" && Number.isFinite(owner) ? String(owner) : owner;
    if (typeof text !== "string" || text.length === 0 || text.length > this.options.maxIdLength) return null;
    if (text.includes("\0") || LONE_SURROGATE.test(text)) return null;
    return text;
  }

  /** Validates an owner argument of the owner operations, which need the `owner` option. */
  private ownerArgument(op: Operation, owner: unknown): string {
    if (this.backend.capabilities?.owners === false) {
      throw new SessionStoreError(
        ErrorCodes.UNSUPPORTED,
        `sessionkit: backend ${this.backend.name} stores no owners, so ${op} is unavailable`,
      );
    }
    if (!this.options.owner) {
      throw new SessionStoreError(
        ErrorCodes.UNSUPPORTED,
        `sessionkit: ${op} needs the owner option of createStore (which tells whose a session is); without it no session has an owner`,
      );
    }
    const id = this.normalizeOwner(owner);
    if (id === null) {
      throw new SessionStoreError(
        ErrorCodes.INVALID_ID,
        `sessionkit: an owner must be a non-empty string (at most ${this.options.maxIdLength} characters, well-formed, no NUL) or a finite number`,
      );
    }
    return id;
  }
}

/** Operations bounded per step (each GC batch, each page of a stream), not as a whole. */
const STEPWISE: ReadonlySet<Operation> = new Set(["prune", "all", "ids"]);
/** Operations on one session: their id is validated before any I/O. */
const ID_OPERATIONS: ReadonlySet<Operation> = new Set(["get", "set", "touch", "destroy", "destroyOthers"]);

function secretOf(owner: unknown): string | undefined {
  return typeof owner === "string" || typeof owner === "number" ? String(owner) : undefined;
}
