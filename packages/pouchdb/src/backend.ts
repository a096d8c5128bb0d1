import type {
  BackendCapabilities,
  OwnerDestroy,
  SessionBackend,
  SessionRecord,
  SessionTouch,
  SessionWrite,
  Tombstone,
} from "@sessionkit/core/kit";
import { KeyedQueue } from "@sessionkit/core/kit";
import * as layout from "./document.js";
import { adapterError, isConflict, isMissing } from "./errors.js";
import * as legacy from "./legacy.js";
import { EXPIRES_VIEW, type Opened, OWNERS_VIEW, prepareDatabase } from "./schema.js";
import type { Fields, PouchDatabase, PouchRow } from "./types.js";

/** The options the backend runs with (see `PouchdbAdapterOptions`). */
export interface BackendSettings {
  label: string;
  legacy: typeof legacy.LEGACY_STORE | undefined;
  legacyTtlMs: number;
  revisionCacheSize: number;
  maxConflictRetries: number;
  pageSize: number;
}

/**
 * What is known of one document id: its revision (undefined when missing; in the legacy layout a
 * deleted document's), its fields when it exists, and in the legacy layout its tombstone's end.
 */
export interface Known {
  rev?: string | undefined;
  doc?: Fields | undefined;
  until?: number;
}
const MISSING: Known = Object.freeze({});
const DELETE: Fields = Object.freeze({ _deleted: true });
/** What a write makes of what it found: a document to put, `false` (refused by a tombstone) or `null` (nothing to do). */
type Plan = (known: Known) => Fields | false | null;

/** A SessionBackend over one PouchDB database (in memory, on disk, or CouchDB over HTTP). */
export class PouchdbBackend implements SessionBackend {
  readonly capabilities: BackendCapabilities;
  readonly #settings: BackendSettings;
  readonly #open: () => Promise<Opened>;
  #opened: Promise<Opened> | undefined;
  #database: PouchDatabase | undefined;
  #closing: Promise<void> | undefined;
  /** Each document's last-known revision and fields (Map order: least recently refreshed first). */
  readonly #cache = new Map<string, Known>();
  readonly #queue = new KeyedQueue();
  /** Of recent writes of ids this process knew nothing of, the share that existed (see `upsert`). */
  #existingShare = 0;

  constructor(
    readonly name: string,
    open: () => Promise<Opened>,
    settings: BackendSettings,
  ) {
    this.#open = open;
    this.#settings = settings;
    // CouchDB's default max_document_size is 8,000,000 bytes, and JSON escapes a byte into up to 6.
    const declared = { owners: true, tombstones: true, createdAt: true, maxPayloadBytes: 1_300_000 };
    this.capabilities = settings.legacy ? { ...declared, legacy: settings.legacy } : declared;
  }

  get #db(): PouchDatabase {
    if (!this.#database) throw adapterError("init() has not been called");
    return this.#database;
  }

  async init(): Promise<void> {
    if (this.#closing) throw adapterError("init() after close()");
    this.#opened ??= this.#open().catch((error: unknown) => {
      this.#opened = undefined; // the next init() tries again
      throw error;
    });
    this.#database = (await this.#opened).db;
    await prepareDatabase(this.#database, this.#settings.label, this.#settings.legacyTtlMs);
  }

  get(id: string, now: number): Promise<SessionRecord | null> {
    const docId = layout.toDocId(id);
    return this.#db.get(docId).then(
      (doc) => {
        this.#remember(docId, { rev: doc._rev, doc });
        const record = layout.readSession(id, doc, this.#settings.legacyTtlMs);
        // A damaged document of ours reads as an unreadable payload, which the core reports once.
        return record === "damaged" ? { id, payload: "", expiresAt: now + 1, owner: null } : record;
      },
      (error: unknown) => {
        if (!isMissing(error)) throw error;
        this.#remember(docId, MISSING);
        return null;
      },
    );
  }

  /**
   * One put when the revision is known (this process read or wrote the session), or when the id
   * is new: a put without revision succeeds on a new id and conflicts on an existing document (a
   * session, or a tombstone: refused), which is then read and written again. Unknown ids are
   * usually new sessions; when recent ones mostly existed (written by another process), they are
   * read first instead. The legacy layout keeps tombstones apart: there an unknown id is read first.
   */
  upsert(write: SessionWrite): Promise<boolean> {
    const docId = layout.toDocId(write.id);
    const plan: Plan = (known) => {
      if (liveUntil(known) > write.now) return false;
      if (known.doc && layout.kindOf(known.doc) === "foreign") {
        throw adapterError("the document under this session's id is not a session");
      }
      const existing = known.doc && layout.readSession(write.id, known.doc, this.#settings.legacyTtlMs);
      const createdAt = (typeof existing === "object" ? existing?.createdAt : undefined) ?? write.now;
      const expiresAt = capped(write.expiresAt, createdAt, write.maxLifetimeMs);
      const meta = { expiresAt, owner: write.owner, createdAt, lastActiveAt: write.now };
      return (this.#settings.legacy ? legacy.legacyDocument : layout.sessionDocument)(write.payload, meta);
    };
    return this.#queue
      .run(docId, () => {
        const known = this.#cache.get(docId);
        // A cached session: a put with its revision; anything else cached, or the legacy layout: a read.
        if (known?.doc || this.#settings.legacy) return this.#save(docId, this.#cachedSession(docId), plan);
        if (known) return this.#save(docId, MISSING, plan); // seen missing: a put without revision
        const blind = this.#existingShare <= 0.5;
        const learn = (existed: boolean) => {
          this.#existingShare = this.#existingShare * 0.9 + (existed ? 0.1 : 0);
        };
        return this.#save(docId, blind ? MISSING : undefined, plan, learn);
      })
      .then((outcome) => outcome !== false);
  }

  /** One put after a read of the session (cached); otherwise a read first. Never creates or revives. */
  touch(touch: SessionTouch): Promise<void> {
    const docId = layout.toDocId(touch.id);
    const plan: Plan = (known) => {
      if (!known.doc || liveUntil(known) > touch.now) return null;
      const session = layout.readSession(touch.id, known.doc, this.#settings.legacyTtlMs);
      if (typeof session !== "object" || session === null || session.expiresAt <= touch.now) return null;
      const createdAt = session.createdAt ?? touch.now;
      const expiresAt = capped(touch.expiresAt, createdAt, touch.maxLifetimeMs);
      const meta = { expiresAt, owner: session.owner, createdAt, lastActiveAt: touch.now };
      return this.#settings.legacy
        ? legacy.touchedInLegacyLayout(known.doc, meta)
        : layout.touchedDocument(known.doc, meta);
    };
    return this.#queue.run(docId, () => this.#save(docId, this.#cachedSession(docId), plan)).then(() => undefined);
  }

  destroy(id: string, tombstone?: Tombstone): Promise<void> {
    const docId = layout.toDocId(id);
    return this.#queue.run(docId, () => this.#end(docId, this.#cachedSession(docId), tombstone)).then(() => undefined);
  }

  async destroyByOwner(owner: string, options: OwnerDestroy = {}): Promise<number> {
    const rows = (await this.#ownerRows(owner)).filter(({ id }) => layout.toSessionId(id) !== options.except);
    let ended = 0;
    for (let i = 0; i < rows.length; i += 32) {
      const ends = rows.slice(i, i + 32).map(({ id, doc }) => {
        const guess = doc ? { rev: doc._rev, doc } : undefined;
        return this.#queue.run(id, () => this.#end(id, guess, options.tombstone));
      });
      for (const hadSession of await Promise.all(ends)) if (hadSession) ended++;
    }
    return ended;
  }

  async listByOwner(owner: string, now: number): Promise<SessionRecord[]> {
    const records = (await this.#ownerRows(owner)).map(({ id, doc }) => this.#record(id, doc));
    return records.filter((record): record is SessionRecord => record?.owner === owner && record.expiresAt > now);
  }

  async clear(): Promise<void> {
    for (let stalled = 0; ; ) {
      const { rows } = await this.#db.query(EXPIRES_VIEW, { reduce: false, limit: this.#settings.pageSize });
      if (rows.length === 0) break;
      // Only conflicts: someone keeps rewriting these documents. Read again, but not forever.
      stalled = (await this.#deleteRows(rows)) === 0 ? stalled + 1 : 0;
      if (stalled > this.#settings.maxConflictRetries) throw adapterError("documents kept changing during clear()");
    }
    this.#cache.clear();
  }

  /** Expired sessions, then passed tombstones, by the expires view; one bulk delete. */
  async deleteExpired(now: number, limit: number): Promise<number> {
    const expired = (kind: number, count: number) =>
      this.#db.query(EXPIRES_VIEW, { reduce: false, startkey: [kind], endkey: [kind, now], limit: count });
    let { rows } = await expired(0, limit);
    if (rows.length < limit) rows = rows.concat((await expired(1, limit - rows.length)).rows);
    return this.#deleteRows(rows);
  }

  async count(now: number): Promise<number> {
    // [0, now, {}] sorts after [0, now] and before [0, later]: the sessions live at `now`.
    const { rows } = await this.#db.query(EXPIRES_VIEW, { reduce: true, startkey: [0, now, {}], endkey: [0, {}] });
    const count = rows[0]?.value;
    return typeof count === "number" ? count : 0;
  }

  async *stream(now: number): AsyncIterable<SessionRecord> {
    const limit = this.#settings.pageSize;
    let startkey: unknown = [0, now, {}];
    let skip = 0; // rows already seen with key === startkey (PouchDB views have no document id cursor)
    for (;;) {
      const page = { reduce: false, include_docs: true, startkey, endkey: [0, {}], skip, limit };
      const { rows } = await this.#db.query(EXPIRES_VIEW, page);
      for (const { id, doc } of rows) {
        const record = this.#record(id, doc);
        if (record && record.expiresAt > now) yield record;
      }
      const last = rows[rows.length - 1];
      if (rows.length < limit || !last) return;
      const key = JSON.stringify(last.key);
      const sameKey = rows.filter((row) => JSON.stringify(row.key) === key).length;
      skip = key === JSON.stringify(startkey) ? skip + sameKey : sameKey;
      startkey = last.key;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#cache.clear();
      await (await this.#opened?.catch(() => undefined))?.release();
    })();
    return this.#closing;
  }

  // ---- internals ----

  /** What the cache knows of a session: worth a write with its revision (a stale one conflicts). */
  #cachedSession(docId: string): Known | undefined {
    const known = this.#cache.get(docId);
    return known?.doc && layout.kindOf(known.doc) === "session" ? known : undefined;
  }

  /**
   * Ends one stored session (a missing id stays missing): a tombstone in its place (in the legacy
   * layout a tombstone document of its own first, then the session deleted), or a delete.
   * Resolves whether there was a session.
   */
  async #end(docId: string, guess: Known | undefined, tombstone: Tombstone | undefined): Promise<boolean> {
    let ended = false;
    const plan =
      (next: (known: Known) => Fields | null): Plan =>
      (known) => {
        ended = known.doc !== undefined && layout.kindOf(known.doc) === "session";
        return known.doc && layout.kindOf(known.doc) !== "foreign" ? next(known) : null;
      };
    const remove = plan(() => DELETE);
    const read = (id: string) => this.#read(id);
    if (!tombstone) await this.#save(docId, guess, remove, undefined, read);
    else if (this.#settings.legacy) {
      const known = guess ?? (await read(docId));
      if (!known.doc || layout.kindOf(known.doc) === "foreign") return false;
      // Tombstone first: a write that then finds the session's document deleted finds the tombstone.
      await this.#save(legacy.tombstoneId(docId), MISSING, tombstonePlan(tombstone), undefined, read);
      await this.#save(docId, known, remove, undefined, read);
    } else await this.#save(docId, guess, plan(tombstonePlan(tombstone)));
    return ended;
  }

  /**
   * Writes one document by `plan`, from `guess` (what the cache knows, or MISSING: a put without
   * revision) or else from a read. A revision conflict (another process wrote since) reads again
   * and plans again, after a growing, jittered wait from the second retry on.
   */
  async #save(
    docId: string,
    guess: Known | undefined,
    plan: Plan,
    learn?: (existed: boolean) => void,
    read = (id: string) => this.#readWithTombstone(id),
  ): Promise<boolean | null> {
    let known = guess;
    for (let attempt = 0; ; attempt++) {
      if (!known) {
        known = await read(docId);
        if (attempt === 0) learn?.(known.doc !== undefined);
      }
      const next = plan(known);
      if (next === false || next === null) return next;
      try {
        // _id and _rev first: PouchDB writes such documents measurably faster.
        const doc = known.rev ? { _id: docId, _rev: known.rev, ...next } : { _id: docId, ...next };
        const { rev } = await this.#db.put(doc);
        this.#remember(docId, next === DELETE ? MISSING : { rev, doc: next, until: known.until });
        if (attempt === 0 && guess === MISSING) learn?.(false);
        return true;
      } catch (error) {
        this.#cache.delete(docId);
        if (!isConflict(error) || attempt >= this.#settings.maxConflictRetries) throw error;
        if (attempt === 0 && guess === MISSING) learn?.(true);
        known = undefined;
        // The first retry goes at once (a stale cached revision); then 2-4 ms, doubling up to 128-256
        // ms, jittered, so that of two rival writers the faster one can't win every round.
        const wait = attempt > 0 ? Math.min(256, 4 * 2 ** (attempt - 1)) : 0;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, (wait * (1 + Math.random())) / 2));
      }
    }
  }

  #read(docId: string): Promise<Known> {
    return this.#db.get(docId).then(
      (doc) => ({ rev: doc._rev, doc }),
      (error: unknown) => (isMissing(error) ? MISSING : Promise.reject(error)),
    );
  }

  /** What a write must know first: the document, and in the legacy layout its tombstone too. */
  #readWithTombstone(docId: string): Promise<Known> {
    return this.#settings.legacy ? legacy.readWithTombstone(this.#db, docId) : this.#read(docId);
  }

  /** Keeps what is known of a document, dropping the least recently refreshed entry when full. */
  #remember(docId: string, known: Known): void {
    this.#cache.delete(docId);
    if (this.#settings.revisionCacheSize === 0) return;
    this.#cache.set(docId, known);
    if (this.#cache.size > this.#settings.revisionCacheSize) this.#cache.delete(this.#cache.keys().next().value ?? "");
  }

  #record(docId: string, doc: Fields | null | undefined): SessionRecord | null {
    const record = doc ? layout.readSession(layout.toSessionId(docId), doc, this.#settings.legacyTtlMs) : null;
    return typeof record === "object" ? record : null;
  }

  async #ownerRows(owner: string): Promise<PouchRow[]> {
    return (await this.#db.query(OWNERS_VIEW, { key: owner, include_docs: true })).rows;
  }

  /** Deletes the documents of view rows (the value is the revision); resolves with how many went. */
  async #deleteRows(rows: PouchRow[]): Promise<number> {
    const deletes = rows.map((row) => ({ _id: row.id, _rev: row.value as string, _deleted: true }));
    let deleted = 0;
    for (const [index, result] of (deletes.length ? await this.#db.bulkDocs(deletes) : []).entries()) {
      this.#cache.delete(deletes[index]?._id ?? "");
      if (result.ok === true || (result.error === undefined && typeof result.rev === "string")) deleted++;
      // A conflict: changed since the view read it (kept). Missing: someone else deleted it.
      else if (!isConflict(result) && !isMissing(result)) throw result;
    }
    return deleted;
  }
}

/** The latest tombstone end among what was found: the document itself, and a legacy tombstone. */
const liveUntil = (known: Known) => Math.max(layout.tombstoneEnd(known.doc), known.until ?? -Infinity);

/** `expiresAt` capped at `createdAt + maxLifetimeMs` when a lifetime is set. */
const capped = (expiresAt: number, createdAt: number, maxLifetimeMs: number | undefined) =>
  maxLifetimeMs === undefined ? expiresAt : Math.min(expiresAt, createdAt + maxLifetimeMs);

/** A tombstone until `tombstone.until`, unless one that ends later is there already. */
const tombstonePlan =
  (tombstone: Tombstone) =>
  (known: Known): Fields | null =>
    layout.tombstoneEnd(known.doc) >= tombstone.until ? null : layout.tombstoneDocument(tombstone.now, tombstone.until);
