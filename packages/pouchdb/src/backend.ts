import { setTimeout as sleep } from "node:timers/promises";
import type * as kit from "@sessionkit/core/kit";
import { cappedExpiry, KeyedQueue } from "@sessionkit/core/kit";
import { adapterError, isConflict, isMissing } from "./errors.js";
import type { Settings } from "./index.js";
import * as legacy from "./legacy.js";
import * as layout from "./schema.js";
import type { Fields, PouchDatabase, PouchRow } from "./types.js";

/** A database ready to use, and how to let go of it: close (or free) what the adapter made, nothing of the user's. */
export type Opened = { db: PouchDatabase; release(): Promise<unknown> };

/**
 * What is known of one document id: its revision (undefined when missing; in the legacy layout a
 * deleted document's), its fields when it exists, and in the legacy layout its tombstone's end.
 */
export type Known = { rev?: string | undefined; doc?: Fields | undefined; until?: number };
const MISSING: Known = Object.freeze({});
const DELETE: Fields = Object.freeze({ _deleted: true });
/** What a write makes of what it found: a document to put, or null (refused by a tombstone, or nothing to do). */
type Plan = (known: Known) => Fields | null;

/** A SessionBackend over one PouchDB database (in memory, on disk, or CouchDB over HTTP). */
export class PouchdbBackend implements kit.SessionBackend {
  readonly capabilities: kit.BackendCapabilities;
  private readonly legacyTtlMs: number;
  private opened: Promise<Opened> | undefined;
  private database: PouchDatabase | undefined;
  private closing: Promise<void> | undefined;
  /** Each document's last-known revision and fields (Map order: least recently refreshed first). */
  private readonly cache = new Map<string, Known>();
  private readonly queue = new KeyedQueue();
  /** Of recent writes of ids this process knew nothing of, the share that existed (see `upsert`). */
  private existingShare = 0;

  constructor(
    readonly name: string,
    private readonly open: () => Promise<Opened>,
    private readonly settings: Settings,
  ) {
    this.legacyTtlMs = settings.legacyTtl * 1000;
    // CouchDB's default max_document_size is 8,000,000 bytes, and JSON escapes a byte into up to 6.
    const maxPayloadBytes = 1_300_000;
    this.capabilities = { owners: true, tombstones: true, createdAt: true, maxPayloadBytes, legacy: settings.legacy };
  }

  private get db(): PouchDatabase {
    if (!this.database) throw adapterError("init() has not been called");
    return this.database;
  }

  async init(): Promise<void> {
    if (this.closing) throw adapterError("init() after close()");
    this.opened ??= this.open().catch((error: unknown) => {
      this.opened = undefined; // the next init() tries again
      throw error;
    });
    this.database = (await this.opened).db;
    await layout.prepareDatabase(this.database, this.settings.label, this.legacyTtlMs);
  }

  get(id: string, now: number): Promise<kit.SessionRecord | null> {
    const docId = layout.toDocId(id);
    return this.fetch(docId).then((known) => {
      this.remember(docId, known);
      const record = known.doc ? layout.readSession(id, known.doc, this.legacyTtlMs) : null;
      // A damaged document of ours reads as an unreadable payload, which the core reports once.
      return record === "damaged" ? { id, payload: "", expiresAt: now + 1, owner: null } : record;
    });
  }

  /**
   * One put when the revision is known (this process read or wrote the session), or when the id
   * is new: a put without revision succeeds on a new id and conflicts on an existing document (a
   * session, or a tombstone: refused), which is then read and written again. Unknown ids are
   * usually new sessions; when enough recent ones existed (written by another process, or evicted
   * from the cache), they are read first instead: half of them over HTTP, where a put that conflicts
   * costs a round trip like a read, a fifth in a local database, where it costs nearly a put (its
   * new revision is hashed first), four to six reads of a missing id. The legacy layout keeps
   * tombstones apart: there an unknown id is read first.
   */
  upsert(write: kit.SessionWrite): Promise<boolean> {
    const docId = layout.toDocId(write.id);
    const plan: Plan = (known) => {
      if (liveUntil(known) > write.now) return null;
      if (known.doc && layout.kindOf(known.doc) === "foreign") {
        throw adapterError("the document under this session's id is not a session");
      }
      const meta = metaOf(write, write.owner, this.session(docId, known.doc)?.createdAt);
      if (this.settings.legacy) return legacy.legacyDocument(write.payload, meta);
      return { type: layout.SESSION_TYPE, payload: write.payload, ...meta };
    };
    return this.queue.run(docId, () => {
      const known = this.cache.get(docId);
      // A cached session: a put with its revision; anything else cached, or the legacy layout: a read.
      if (known?.doc || this.settings.legacy) return this.save(docId, this.cachedSession(docId), plan);
      if (known) return this.save(docId, MISSING, plan); // seen missing: a put without revision
      const readFirst = this.existingShare > (this.name === "pouchdb:http" ? 0.5 : 0.2);
      return this.save(docId, readFirst ? undefined : MISSING, plan, true);
    });
  }

  /** One put after a read of the session (cached); otherwise a read first. Never creates or revives. */
  touch(touch: kit.SessionTouch): Promise<void> {
    const docId = layout.toDocId(touch.id);
    const plan: Plan = (known) => {
      const session = this.session(docId, known.doc);
      if (!known.doc || !session || session.expiresAt <= touch.now || liveUntil(known) > touch.now) return null;
      const meta = metaOf(touch, session.owner, session.createdAt);
      return legacy.touchedDocument(known.doc, meta, this.settings.legacy !== undefined);
    };
    return this.queue.run(docId, () => this.save(docId, this.cachedSession(docId), plan)).then(() => undefined);
  }

  destroy(id: string, tombstone?: kit.Tombstone): Promise<void> {
    const docId = layout.toDocId(id);
    return this.queue.run(docId, () => this.end(docId, this.cachedSession(docId), tombstone)).then(() => undefined);
  }

  async destroyByOwner(owner: string, { except, tombstone }: kit.OwnerDestroy = {}): Promise<number> {
    const { rows: all } = await this.db.query(layout.OWNERS_VIEW, { key: owner, include_docs: true });
    const rows = all.filter(({ id }) => layout.toSessionId(id) !== except);
    let ended = 0;
    for (let i = 0; i < rows.length; i += 32) {
      const ends = rows.slice(i, i + 32).map(({ id, doc }) => {
        const guess = doc ? { rev: doc._rev, doc } : undefined;
        return this.queue.run(id, () => this.end(id, guess, tombstone));
      });
      ended += (await Promise.all(ends)).filter(Boolean).length;
    }
    return ended;
  }

  async listByOwner(owner: string, now: number): Promise<kit.SessionRecord[]> {
    const { rows } = await this.db.query(layout.OWNERS_VIEW, { key: owner, include_docs: true });
    const records = rows.map(({ id, doc }) => this.session(id, doc));
    return records.filter((record): record is kit.SessionRecord => record?.owner === owner && record.expiresAt > now);
  }

  async clear(): Promise<void> {
    for (let stalled = 0; ; ) {
      const { rows } = await this.db.query(layout.EXPIRES_VIEW, { reduce: false, limit: this.settings.pageSize });
      if (rows.length === 0) break;
      // Only conflicts: someone keeps rewriting these documents. Read again, but not forever.
      stalled = (await this.deleteRows(rows)) === 0 ? stalled + 1 : 0;
      if (stalled > this.settings.maxConflictRetries) throw adapterError("documents kept changing during clear()");
    }
    this.cache.clear();
  }

  /** Expired sessions, then passed tombstones, by the expires view; one bulk delete. */
  async deleteExpired(now: number, limit: number): Promise<number> {
    const expired = (kind: number, count: number) =>
      this.db.query(layout.EXPIRES_VIEW, { reduce: false, startkey: [kind], endkey: [kind, now], limit: count });
    let { rows } = await expired(0, limit);
    if (rows.length < limit) rows = rows.concat((await expired(1, limit - rows.length)).rows);
    return this.deleteRows(rows);
  }

  async count(now: number): Promise<number> {
    // [0, now, {}] sorts after [0, now] and before [0, later]: the sessions live at `now`.
    const page = { reduce: true, startkey: [0, now, {}], endkey: [0, {}] };
    const count = (await this.db.query(layout.EXPIRES_VIEW, page)).rows[0]?.value;
    return typeof count === "number" ? count : 0;
  }

  async *stream(now: number): AsyncIterable<kit.SessionRecord> {
    const limit = this.settings.pageSize;
    let startkey: unknown = [0, now, {}];
    let skip = 0; // rows already seen with key === startkey (PouchDB views have no document id cursor)
    for (;;) {
      const page = { reduce: false, include_docs: true, startkey, endkey: [0, {}], skip, limit };
      const { rows } = await this.db.query(layout.EXPIRES_VIEW, page);
      for (const { id, doc } of rows) {
        const record = this.session(id, doc);
        if (record && record.expiresAt > now) yield record;
      }
      const last = rows.at(-1);
      if (rows.length < limit || !last) return;
      const key = JSON.stringify(last.key);
      const sameKey = rows.filter((row) => JSON.stringify(row.key) === key).length;
      skip = key === JSON.stringify(startkey) ? skip + sameKey : sameKey;
      startkey = last.key;
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.cache.clear();
      await (await this.opened?.catch(() => undefined))?.release();
    })();
    return this.closing;
  }

  /** What the cache knows of a session: worth a write with its revision (a stale one conflicts). */
  private cachedSession(docId: string): Known | undefined {
    const known = this.cache.get(docId);
    return known?.doc && layout.kindOf(known.doc) === "session" ? known : undefined;
  }

  /**
   * Ends one stored session (a missing id stays missing): a tombstone in its place (in the legacy
   * layout a tombstone document of its own first, then the session deleted), or a delete.
   * Resolves whether there was a session.
   */
  private async end(docId: string, guess: Known | undefined, tombstone: kit.Tombstone | undefined): Promise<boolean> {
    let ended = false;
    const plan: Plan = (known) => {
      const kind = known.doc && layout.kindOf(known.doc);
      ended = kind === "session";
      if (!kind || kind === "foreign") return null;
      return tombstone && !this.settings.legacy ? tombstoneOver(known, tombstone) : DELETE;
    };
    if (tombstone && this.settings.legacy) {
      guess ??= await this.read(docId);
      if (plan(guess) === null) return false; // nothing of ours under the id
      // Tombstone first: a write that then finds the session's document deleted finds the tombstone.
      await this.save(legacy.tombstoneId(docId), MISSING, (known) => tombstoneOver(known, tombstone));
    }
    await this.save(docId, guess, plan);
    return ended;
  }

  /**
   * Writes one document by `plan`, from `guess` (what the cache knows, or MISSING: a put without
   * revision) or else from a read; resolves whether it wrote. A revision conflict (another process
   * wrote since) reads again and plans again, after a growing, jittered wait from the second retry
   * on. With `learn`, the write tells `existingShare` whether the document existed.
   */
  private async save(docId: string, guess: Known | undefined, plan: Plan, learn = false): Promise<boolean> {
    let known = guess;
    for (let attempt = 0; ; attempt++) {
      known ??= await this.read(docId);
      const next = plan(known);
      if (next === null) return false;
      try {
        // _id and _rev first: PouchDB writes such documents measurably faster.
        const doc = known.rev ? { _id: docId, _rev: known.rev, ...next } : { _id: docId, ...next };
        const { rev } = await this.db.put(doc);
        this.remember(docId, next === DELETE ? MISSING : { rev, doc: next, until: known.until });
        const existed = attempt > 0 || known.doc !== undefined;
        if (learn) this.existingShare = this.existingShare * 0.9 + (existed ? 0.1 : 0);
        return true;
      } catch (error) {
        this.cache.delete(docId);
        if (!isConflict(error) || attempt >= this.settings.maxConflictRetries) throw error;
        known = undefined;
        // The first retry goes at once (a stale cached revision); then 2-4 ms, doubling up to 128-256
        // ms, jittered, so that of two rival writers the faster one can't win every round.
        if (attempt > 0) await sleep(Math.min(128, 2 ** attempt) * (1 + Math.random()));
      }
    }
  }

  /** What a write must know first: the document (`fetch`), and in the legacy layout its tombstone too. */
  private read(docId: string): Promise<Known> {
    return this.settings.legacy ? legacy.readWithTombstone(this.db, docId) : this.fetch(docId);
  }

  private fetch(docId: string): Promise<Known> {
    return this.db.get(docId).then(
      (doc) => ({ rev: doc._rev, doc }),
      (error: unknown) => (isMissing(error) ? MISSING : Promise.reject(error)),
    );
  }

  /** Keeps what is known of a document, dropping the least recently refreshed entry when full. */
  private remember(docId: string, known: Known): void {
    this.cache.delete(docId);
    this.cache.set(docId, known);
    if (this.cache.size > this.settings.revisionCacheSize) this.cache.delete(this.cache.keys().next().value ?? "");
  }

  /** A document as a session's record; undefined for anything else, or a damaged one of ours. */
  private session(docId: string, doc: Fields | null | undefined): kit.SessionRecord | undefined {
    const record = doc ? layout.readSession(layout.toSessionId(docId), doc, this.legacyTtlMs) : null;
    return typeof record === "object" && record !== null ? record : undefined;
  }

  /** Deletes the documents of view rows (the value is the revision); resolves with how many went. */
  private async deleteRows(rows: PouchRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const deletes = rows.map((row) => ({ _id: row.id, _rev: row.value as string, _deleted: true }));
    const results = await this.db.bulkDocs(deletes);
    for (const row of rows) this.cache.delete(row.id);
    // A conflict: changed since the view read it (kept). Missing: someone else deleted it.
    const failure = results.find((result) => result.error !== undefined && !isConflict(result) && !isMissing(result));
    if (failure) throw failure;
    return results.filter((result) => result.error === undefined).length;
  }
}

/** The latest tombstone end among what was found: the document itself, and a legacy tombstone. */
const liveUntil = (known: Known) => Math.max(layout.tombstoneEnd(known.doc), known.until ?? -Infinity);

/** What a write or touch stores besides the payload: the stored creation time kept (or this one's moment). */
function metaOf(w: kit.SessionWrite | kit.SessionTouch, owner: string | null, createdAt = w.now): layout.Meta {
  return { expiresAt: cappedExpiry(w, createdAt), owner, createdAt, lastActiveAt: w.now };
}

/** A tombstone until `tombstone.until`, unless one that ends later is there already. */
const tombstoneOver = (known: Known, { now, until }: kit.Tombstone): Fields | null =>
  layout.tombstoneEnd(known.doc) >= until ? null : { type: layout.TOMBSTONE_TYPE, expiresAt: until, createdAt: now };
