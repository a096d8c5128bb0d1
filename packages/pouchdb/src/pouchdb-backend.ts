import { type BackendCapabilities, KeyedQueue, type SessionBackend, type SessionRecord } from "@sessionkit/core";
import { conflictBackoff, pause } from "./conflict-backoff.js";
import { toDocId, toSessionId } from "./document-id.js";
import type { OpenedDatabase } from "./open-database.js";
import type { ResolvedPouchdbOptions } from "./options.js";
import { asError } from "./pouch-errors.js";
import { isConflict, isMissing, type PouchDatabase, type PouchDocument, type PouchViewRow } from "./pouch-types.js";
import { type KnownRevision, RevisionCache } from "./revision-cache.js";
import { bodyOf, isLiveAt, type StoredBody, sessionBody, toRecord, withExpiry } from "./session-document.js";
import { DESIGN_ID, designViews, EXPIRES_VIEW, OWNERS_VIEW } from "./views.js";

/** A SessionBackend over one PouchDB database (in memory, on disk, or CouchDB over HTTP). */
export class PouchdbBackend implements SessionBackend {
  readonly name: string;
  readonly capabilities: BackendCapabilities = { owners: true };

  readonly #opened: OpenedDatabase;
  /** The unwrapped database for the per-session calls, which turn its rejections into Errors themselves. */
  readonly #instance: PouchDatabase;
  readonly #options: ResolvedPouchdbOptions;
  readonly #revisions: RevisionCache;
  readonly #queue = new KeyedQueue();
  #deletedSinceCompaction = 0;
  #closing: Promise<void> | undefined;

  constructor(opened: OpenedDatabase, options: ResolvedPouchdbOptions) {
    this.#opened = opened;
    this.#instance = opened.instance;
    this.#options = options;
    this.#revisions = new RevisionCache(options.revisionCacheSize);
    this.name = `pouchdb:${opened.kind}`;
  }

  /** The database in use (the one passed in, or the one the adapter created), with rejections as Errors. */
  get db() {
    return this.#opened.db;
  }

  async init(): Promise<void> {
    if (this.#opened.remote) await this.#checkDatabase();
    await this.#writeDesignDocument();
  }

  // The hot paths (get, upsert, touch) chain promises rather than nest async functions: each
  // nested async frame costs a promise and a microtask per operation.

  get(id: string): Promise<SessionRecord | null> {
    const docId = toDocId(id);
    return this.#read(docId).then(
      (doc) => toRecord(id, this.#remember(docId, doc).body, this.#options.legacyTtlMs),
      (error: unknown) => this.#forgetMissing(docId, error),
    );
  }

  upsert(record: SessionRecord): Promise<void> {
    const docId = toDocId(record.id);
    const body = sessionBody(record);
    return this.#queue.run(docId, () =>
      this.#withRetry(docId, (known, attempt) =>
        // Without a known revision try a plain create first: a new session needs one round trip.
        known || attempt === 0
          ? this.#write(docId, body, known?.rev)
          : this.#fetch(docId).then((current) => this.#write(docId, body, current?.rev)),
      ),
    );
  }

  touch(id: string, expiresAt: number, now: number): Promise<void> {
    const docId = toDocId(id);
    const isLive = (known: KnownRevision) => isLiveAt(known.body, now, this.#options.legacyTtlMs);
    // Missing, foreign or expired at `now`: a touch never creates or revives.
    const move = (current: KnownRevision | null) =>
      current && isLive(current) ? this.#write(docId, withExpiry(current.body, expiresAt), current.rev) : undefined;
    return this.#queue.run(docId, () =>
      this.#withRetry(docId, (known) =>
        // A cached copy that looks expired may be stale (another process rewrote it): read to be sure.
        // One that looks live but is stale has an old revision, so the write conflicts and re-reads.
        known && isLive(known) ? move(known) : this.#fetch(docId).then(move),
      ),
    );
  }

  destroy(id: string): Promise<void> {
    const docId = toDocId(id);
    return this.#queue.run(docId, () =>
      this.#withRetry(docId, (known) =>
        known ? this.#delete(docId, known.rev) : this.#fetch(docId).then((doc) => doc && this.#delete(docId, doc.rev)),
      ),
    );
  }

  async destroyByOwner(owner: string): Promise<number> {
    return this.#deleteAllRows(() => this.db.query(OWNERS_VIEW, { key: owner, limit: this.#options.pageSize }));
  }

  async clear(): Promise<void> {
    await this.#deleteAllRows(() => this.db.query(EXPIRES_VIEW, { reduce: false, limit: this.#options.pageSize }));
    this.#revisions.clear();
  }

  async deleteExpired(now: number, limit: number): Promise<number> {
    const { rows } = await this.db.query(EXPIRES_VIEW, { reduce: false, endkey: now, limit });
    // A row whose session was touched since the index read conflicts and is (rightly) kept.
    const deleted = await this.#deleteRows(rows);
    this.#deletedSinceCompaction += deleted;
    if (rows.length < limit) await this.#compactIfDue();
    return deleted;
  }

  async count(now: number): Promise<number> {
    // Descending from the top down to `now`, excluded: the records with expiresAt > now.
    const { rows } = await this.db.query(EXPIRES_VIEW, {
      reduce: true,
      descending: true,
      endkey: now,
      inclusive_end: false,
    });
    const value = rows[0]?.value;
    return typeof value === "number" ? value : 0;
  }

  async *stream(now: number): AsyncIterable<SessionRecord> {
    const pageSize = this.#options.pageSize;
    let startkey: unknown = now;
    let skip = 0; // rows already seen with key === startkey (views have no portable docid cursor)
    for (;;) {
      const { rows } = await this.db.query(EXPIRES_VIEW, {
        reduce: false,
        include_docs: true,
        startkey,
        skip,
        limit: pageSize,
      });
      for (const row of rows) {
        const record = this.#rowRecord(row);
        if (record && record.expiresAt > now) yield record;
      }
      const last = rows[rows.length - 1];
      if (rows.length < pageSize || !last) return;
      const sameKey = rows.filter((row) => row.key === last.key).length;
      skip = last.key === startkey ? skip + sameKey : sameKey;
      startkey = last.key;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#revisions.clear();
      await this.#opened.release();
    })();
    return this.#closing;
  }

  // ---- internals ----

  /** Reads a document (null when missing or deleted) and remembers its revision. */
  #fetch(docId: string): Promise<KnownRevision | null> {
    return this.#read(docId).then(
      (doc) => this.#remember(docId, doc),
      (error: unknown) => this.#forgetMissing(docId, error),
    );
  }

  #read(docId: string): Promise<PouchDocument> {
    try {
      return this.#instance.get(docId);
    } catch (error) {
      return Promise.reject(error); // a database that throws still answers with a rejection
    }
  }

  /** A missing document reads as null (and its revision is forgotten); any other failure is rethrown. */
  #forgetMissing(docId: string, error: unknown): null {
    if (!isMissing(error)) throw asError(error);
    this.#revisions.delete(docId);
    return null;
  }

  #remember(docId: string, doc: PouchDocument): KnownRevision {
    const rev = doc._rev ?? "";
    // The same revision is the same content: keep the cached entry rather than allocate an equal copy.
    const cached = this.#revisions.get(docId);
    if (cached?.rev === rev && rev !== "") return cached;
    return this.#revisions.set(docId, rev, bodyOf(doc));
  }

  #write(docId: string, body: StoredBody, rev: string | undefined): Promise<void> {
    const doc: PouchDocument = rev ? { ...body, _id: docId, _rev: rev } : { ...body, _id: docId };
    return this.#instance.put(doc).then((result) => {
      if (result.rev) this.#revisions.set(docId, result.rev, body);
      else this.#revisions.delete(docId);
    }, rethrowAsError);
  }

  #delete(docId: string, rev: string): Promise<void> {
    return this.#instance
      .put({ _id: docId, _rev: rev, _deleted: true })
      .then(() => this.#revisions.delete(docId), rethrowAsError);
  }

  /**
   * Runs a read-modify-write step, retrying on a revision conflict with a fresh read (after a
   * growing, jittered wait from the second retry on), so concurrent writers never see a 409
   * unless `maxConflictRetries` is exhausted.
   */
  #withRetry(
    docId: string,
    step: (known: KnownRevision | undefined, attempt: number) => Promise<unknown> | undefined,
    attempt = 0,
  ): Promise<void> {
    const known = attempt === 0 ? this.#revisions.get(docId) : undefined;
    let running: Promise<unknown> | undefined;
    try {
      running = step(known, attempt);
    } catch (error) {
      running = Promise.reject(error);
    }
    return Promise.resolve(running).then(
      () => undefined,
      (error: unknown) => {
        this.#revisions.delete(docId);
        if (!isConflict(error) || attempt >= this.#options.maxConflictRetries) throw error;
        return pause(conflictBackoff(attempt + 1)).then(() => this.#withRetry(docId, step, attempt + 1));
      },
    );
  }

  /** Deletes the documents of view rows (value = revision); resolves with how many went. */
  async #deleteRows(rows: PouchViewRow[]): Promise<number> {
    const deletes: PouchDocument[] = [];
    for (const row of rows) {
      if (typeof row.id === "string" && typeof row.value === "string") {
        deletes.push({ _id: row.id, _rev: row.value, _deleted: true });
      }
    }
    if (deletes.length === 0) return 0;
    const results = await this.db.bulkDocs(deletes);
    let deleted = 0;
    for (const [index, result] of results.entries()) {
      const id = deletes[index]?._id;
      if (id !== undefined) this.#revisions.delete(id);
      if (result.ok === true || (result.error === undefined && typeof result.rev === "string")) deleted++;
      // A conflict means it changed since the index read (kept); missing means someone else deleted it.
      else if (!isConflict(result) && !isMissing(result)) throw asError(result);
    }
    return deleted;
  }

  /** Deletes page after page of a query until it comes back empty; retries conflicts with fresh rows. */
  async #deleteAllRows(page: () => Promise<{ rows: PouchViewRow[] }>): Promise<number> {
    let total = 0;
    let stalled = 0;
    for (;;) {
      const { rows } = await page();
      if (rows.length === 0) return total;
      const deleted = await this.#deleteRows(rows);
      total += deleted;
      // Only conflicts: someone keeps rewriting these documents. Re-read, but not forever.
      stalled = deleted === 0 ? stalled + 1 : 0;
      if (stalled > this.#options.maxConflictRetries) {
        throw new Error(`sessionkit/pouchdb: documents kept changing while being deleted (${rows.length} left)`);
      }
    }
  }

  #rowRecord(row: PouchViewRow): SessionRecord | null {
    if (!row.doc || typeof row.id !== "string") return null;
    return toRecord(toSessionId(row.id), bodyOf(row.doc), this.#options.legacyTtlMs);
  }

  async #compactIfDue(): Promise<void> {
    if (!this.#options.compactAfterPrune || this.#deletedSinceCompaction === 0) return;
    this.#deletedSinceCompaction = 0;
    await this.db.compact?.();
  }

  async #checkDatabase(): Promise<void> {
    const label = this.#opened.label;
    let info: unknown;
    try {
      info = await this.db.info();
    } catch (error) {
      const problem = isMissing(error)
        ? "does not exist (and createDatabase is false)"
        : `cannot be opened or created: ${messageOf(error)}`;
      throw new Error(`sessionkit/pouchdb: database ${label} ${problem}`, { cause: error });
    }
    // Without setup, PouchDB's HTTP adapter resolves info() of a missing database with an error body.
    if (typeof info === "object" && info !== null && "error" in info) {
      throw new Error(`sessionkit/pouchdb: database ${label} does not exist (and createDatabase is false)`, {
        cause: info,
      });
    }
  }

  /** Writes the design document when it is missing or differs; safe when processes race. */
  async #writeDesignDocument(): Promise<void> {
    const views = designViews(this.#options.legacyTtlMs);
    for (let attempt = 0; ; attempt++) {
      let rev: string | undefined;
      try {
        const existing = await this.db.get(DESIGN_ID);
        if (JSON.stringify(existing.views) === JSON.stringify(views)) return;
        rev = existing._rev;
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
      try {
        await this.db.put({ _id: DESIGN_ID, ...(rev ? { _rev: rev } : {}), language: "javascript", views });
        return;
      } catch (error) {
        if (!isConflict(error) || attempt >= this.#options.maxConflictRetries) throw error;
      }
    }
  }
}

function rethrowAsError(reason: unknown): never {
  throw asError(reason);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
