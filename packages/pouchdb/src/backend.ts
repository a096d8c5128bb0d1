import {
  type BackendCapabilities,
  KeyedQueue,
  type OwnerDestroy,
  type SessionBackend,
  type SessionRecord,
  type SessionTouch,
  type SessionWrite,
  type Tombstone,
} from "@sessionkit/core/kit";
import {
  capped,
  isForeign,
  readSession,
  recordOf,
  SESSION_TYPE,
  sessionDocument,
  toDocId,
  tombstoneDocument,
  tombstoneEnd,
  toSessionId,
  touchedDocument,
} from "./document.js";
import { adapterError, isConflict, isMissing } from "./errors.js";
import { isLegacyDocument, type LEGACY_STORE, legacyDocument, tombstoneId } from "./legacy.js";
import { EXPIRES_VIEW, type Opened, OWNERS_VIEW, prepareDatabase } from "./schema.js";
import type { Fields, PouchDatabase, PouchRow } from "./types.js";

/** The options the backend runs with (see `PouchdbAdapterOptions`). */
export interface BackendSettings {
  label: string;
  legacy: typeof LEGACY_STORE | undefined;
  legacyTtlMs: number;
  revisionCacheSize: number;
  maxConflictRetries: number;
  pageSize: number;
}

/**
 * What this process knows of one document id: its revision (undefined when missing; a deleted
 * document's from a legacy read) and fields, and in the legacy layout its tombstone's end.
 */
interface Known {
  rev?: string | undefined;
  doc?: Fields | undefined;
  until?: number;
}
const MISSING: Known = Object.freeze({});
const DELETE: Fields = Object.freeze({ _deleted: true });

/**
 * What a write does with what it found: a document to put, `false` (refused: a live tombstone) or
 * `null` (nothing to do).
 */
type Plan = (known: Known) => Fields | false | null;

/** CouchDB's default `max_document_size` is 8,000,000 bytes; JSON-escaping a payload can take 6 bytes per byte. */
const MAX_PAYLOAD_BYTES = 1_300_000;

/** A SessionBackend over one PouchDB database (in memory, on disk, or CouchDB over HTTP). */
export class PouchdbBackend implements SessionBackend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  readonly #open: () => Promise<Opened>;
  readonly #settings: BackendSettings;
  readonly #cache: RevisionCache;
  readonly #queue = new KeyedQueue();
  #opened: Promise<Opened> | undefined;
  #db: PouchDatabase | undefined;
  #closing: Promise<void> | undefined;
  /** Of recent writes of ids this process did not know, the share that existed (see `upsert`). */
  #existingShare = 0;

  constructor(name: string, open: () => Promise<Opened>, settings: BackendSettings) {
    this.name = name;
    this.#open = open;
    this.#settings = settings;
    this.#cache = new RevisionCache(settings.revisionCacheSize);
    this.capabilities = {
      owners: true,
      tombstones: true,
      createdAt: true,
      maxPayloadBytes: MAX_PAYLOAD_BYTES,
      ...(settings.legacy ? { legacy: settings.legacy } : {}),
    };
  }

  /** The database, once `init()` opened it. */
  get db(): PouchDatabase {
    if (!this.#db) throw adapterError("init() has not been called");
    return this.#db;
  }

  async init(): Promise<void> {
    if (this.#closing) throw adapterError("init() after close()");
    this.#opened ??= this.#open();
    try {
      this.#db = (await this.#opened).db;
    } catch (error) {
      this.#opened = undefined; // a later init() tries again
      throw error;
    }
    await prepareDatabase(this.#db, this.#settings.label, this.#settings.legacyTtlMs);
  }

  get(id: string, now: number): Promise<SessionRecord | null> {
    const docId = toDocId(id);
    return this.db.get(docId).then(
      (doc) => {
        this.#cache.set(docId, { rev: doc._rev, doc });
        return recordOf(id, doc, now, this.#settings.legacyTtlMs);
      },
      (error: unknown) => {
        if (!isMissing(error)) throw error;
        this.#cache.set(docId, MISSING);
        return null;
      },
    );
  }

  /**
   * One put when this process knows the session's revision (it read or wrote it), or when the
   * id is new: a write without revision succeeds on a new id and conflicts on an existing one
   * (a session, or a tombstone: refused), which is then read and written again. Ids this process
   * never saw are usually new sessions; when recent ones mostly existed (sessions written by
   * another process), they are read first instead of written blind. The legacy layout keeps
   * tombstones apart, so there an unknown id is always read first.
   */
  upsert(write: SessionWrite): Promise<boolean> {
    const docId = toDocId(write.id);
    const plan: Plan = (known) => {
      if (liveUntil(known) > write.now) return false;
      if (known.doc && isForeign(known.doc))
        throw adapterError("the document under this session's id is not a session");
      const existing = known.doc && readSession(write.id, known.doc, this.#settings.legacyTtlMs);
      const createdAt = (typeof existing === "object" ? existing?.createdAt : undefined) ?? write.now;
      const meta = {
        expiresAt: capped(write.expiresAt, createdAt, write.maxLifetimeMs),
        owner: write.owner,
        createdAt,
        lastActiveAt: write.now,
      };
      return this.#settings.legacy ? legacyDocument(write.payload, meta) : sessionDocument(write.payload, meta);
    };
    return this.#queue.run(docId, () => {
      const known = this.#cache.get(docId);
      let guess: Known | undefined; // undefined: read first
      let learn: ((existed: boolean) => void) | undefined;
      if (known?.doc)
        guess = isSessionDocument(known.doc) ? known : undefined; // a tombstone: read it again
      else if (this.#settings.legacy) guess = undefined;
      else if (known)
        guess = known; // seen missing
      else {
        guess = this.#existingShare > 0.5 ? undefined : MISSING;
        learn = (existed) => {
          this.#existingShare = this.#existingShare * 0.9 + (existed ? 0.1 : 0);
        };
      }
      return this.#save(docId, guess, plan, learn).then((outcome) => outcome !== false);
    });
  }

  /** One put with a known live revision; otherwise a read first. Never creates or revives. */
  touch(touch: SessionTouch): Promise<void> {
    const docId = toDocId(touch.id);
    const plan: Plan = (known) => {
      if (!known.doc || liveUntil(known) > touch.now) return null;
      const session = readSession(touch.id, known.doc, this.#settings.legacyTtlMs);
      if (typeof session !== "object" || session === null || session.expiresAt <= touch.now) return null;
      const createdAt = session.createdAt ?? touch.now;
      const expiresAt = capped(touch.expiresAt, createdAt, touch.maxLifetimeMs);
      return touchedDocument(known.doc, { expiresAt, owner: session.owner, createdAt, lastActiveAt: touch.now });
    };
    return this.#queue.run(docId, () => this.#save(docId, this.#sessionGuess(docId), plan).then(() => undefined));
  }

  destroy(id: string, tombstone?: Tombstone): Promise<void> {
    const docId = toDocId(id);
    return this.#queue.run(docId, () => this.#end(docId, this.#sessionGuess(docId), tombstone)).then(() => undefined);
  }

  async destroyByOwner(owner: string, options: OwnerDestroy = {}): Promise<number> {
    const rows = (await this.#ownerRows(owner)).filter((row) => toSessionId(row.id as string) !== options.except);
    let ended = 0;
    for (let i = 0; i < rows.length; i += 32) {
      await Promise.all(
        rows.slice(i, i + 32).map(async ({ id, doc }) => {
          const docId = id as string;
          const guess = doc ? { rev: doc._rev, doc } : undefined;
          if (await this.#queue.run(docId, () => this.#end(docId, guess, options.tombstone))) ended++;
        }),
      );
    }
    return ended;
  }

  async listByOwner(owner: string, now: number): Promise<SessionRecord[]> {
    const records: SessionRecord[] = [];
    for (const { id, doc } of await this.#ownerRows(owner)) {
      const record = doc && readSession(toSessionId(id as string), doc, this.#settings.legacyTtlMs);
      if (typeof record === "object" && record?.owner === owner && record.expiresAt > now) records.push(record);
    }
    return records;
  }

  async clear(): Promise<void> {
    for (let stalled = 0; ; ) {
      const { rows } = await this.db.query(EXPIRES_VIEW, { reduce: false, limit: this.#settings.pageSize });
      if (rows.length === 0) break;
      // Only conflicts: someone keeps rewriting these documents. Read again, but not forever.
      stalled = (await this.#deleteRows(rows)) === 0 ? stalled + 1 : 0;
      if (stalled > this.#settings.maxConflictRetries) throw adapterError("documents kept changing while clear() ran");
    }
    this.#cache.clear();
  }

  /** Sessions first, then tombstones, each up to `now` by the expires view; one bulk delete. */
  async deleteExpired(now: number, limit: number): Promise<number> {
    const expired = (kind: number, count: number) =>
      this.db.query(EXPIRES_VIEW, { reduce: false, startkey: [kind], endkey: [kind, now], limit: count });
    let { rows } = await expired(0, limit);
    if (rows.length < limit) rows = rows.concat((await expired(1, limit - rows.length)).rows);
    return this.#deleteRows(rows);
  }

  async count(now: number): Promise<number> {
    // [0, now, {}] sorts after [0, now] and before [0, now + anything]: the sessions live at now.
    const { rows } = await this.db.query(EXPIRES_VIEW, { reduce: true, startkey: [0, now, {}], endkey: [0, {}] });
    const value = rows[0]?.value;
    return typeof value === "number" ? value : 0;
  }

  async *stream(now: number): AsyncIterable<SessionRecord> {
    const pageSize = this.#settings.pageSize;
    let startkey: unknown = [0, now, {}];
    let skip = 0; // rows already seen with key === startkey (PouchDB views have no document id cursor)
    for (;;) {
      const page = { reduce: false, include_docs: true, startkey, endkey: [0, {}], skip, limit: pageSize };
      const { rows } = await this.db.query(EXPIRES_VIEW, page);
      for (const { id, doc } of rows) {
        const record = doc && readSession(toSessionId(id as string), doc, this.#settings.legacyTtlMs);
        if (typeof record === "object" && record !== null && record.expiresAt > now) yield record;
      }
      const last = rows[rows.length - 1];
      if (rows.length < pageSize || !last) return;
      const key = JSON.stringify(last.key);
      const sameKey = rows.filter((row) => JSON.stringify(row.key) === key).length;
      skip = key === JSON.stringify(startkey) ? skip + sameKey : sameKey;
      startkey = last.key;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#cache.clear();
      const opened = await this.#opened?.catch(() => undefined);
      await opened?.release();
    })();
    return this.#closing;
  }

  // ---- internals ----

  /** What the cache knows of a session (worth a put with its revision); otherwise a read first. */
  #sessionGuess(docId: string): Known | undefined {
    const known = this.#cache.get(docId);
    return known?.doc && isSessionDocument(known.doc) ? known : undefined;
  }

  /**
   * Ends one session: a tombstone in its place (the legacy layout: a tombstone document of its
   * own, then the session deleted), or a delete. Resolves whether a session was there.
   */
  async #end(docId: string, guess: Known | undefined, tombstone: Tombstone | undefined): Promise<boolean> {
    const hadSession = (known: Known) => known.doc !== undefined && isSessionDocument(known.doc);
    let ended = false;
    const remove: Plan = (known) => {
      ended = hadSession(known);
      return known.doc && !isForeign(known.doc) ? DELETE : null;
    };
    if (!tombstone) await this.#save(docId, guess, remove);
    else if (this.#settings.legacy) {
      // Tombstone first: a write that reads the session's document missing finds the tombstone.
      await this.#save(tombstoneId(docId), MISSING, tombstonePlan(tombstone), undefined, (id) => this.#read(id));
      await this.#save(docId, guess, remove, undefined, (id) => this.#read(id));
    } else {
      await this.#save(docId, guess, (known) => {
        ended = hadSession(known);
        return known.doc && isForeign(known.doc) ? null : tombstonePlan(tombstone)(known);
      });
    }
    return ended;
  }

  /**
   * Writes one document by `plan`, starting from `guess` (what the cache knows, or MISSING for a
   * write without revision) or from a read. A revision conflict (another process wrote since)
   * reads again and plans again, after a growing, jittered wait from the second retry on.
   */
  async #save(
    docId: string,
    guess: Known | undefined,
    plan: Plan,
    learn?: (existed: boolean) => void,
    read = (id: string) => this.#probe(id),
  ): Promise<boolean | null> {
    let known = guess;
    for (let attempt = 0; ; attempt++) {
      if (!known) {
        known = await read(docId);
        if (attempt === 0) learn?.(known.doc !== undefined);
      }
      const next = plan(known);
      if (next === false || next === null) return next;
      const doc = { ...next, _id: docId, ...(known.rev ? { _rev: known.rev } : {}) };
      try {
        const { rev } = await this.db.put(doc);
        this.#cache.set(docId, next === DELETE ? MISSING : { rev, doc: next, until: known.until });
        if (attempt === 0 && guess === MISSING) learn?.(false);
        return true;
      } catch (error) {
        this.#cache.delete(docId);
        if (!isConflict(error) || attempt >= this.#settings.maxConflictRetries) throw error;
        if (attempt === 0 && guess === MISSING) learn?.(true);
        known = undefined;
        if (attempt > 0) await pause(attempt);
      }
    }
  }

  /** Reads one document: what it is now (MISSING when it is not there). */
  #read(docId: string): Promise<Known> {
    return this.db.get(docId).then(
      (doc) => ({ rev: doc._rev, doc }),
      (error: unknown) => {
        if (!isMissing(error)) throw error;
        return MISSING;
      },
    );
  }

  /**
   * What a write must know before writing: the document, and in the legacy layout also its
   * tombstone document, read together (a deleted document's revision included: a write over it
   * is then revision-checked too).
   */
  async #probe(docId: string): Promise<Known> {
    if (!this.#settings.legacy) return this.#read(docId);
    const { rows } = await this.db.allDocs({ keys: [docId, tombstoneId(docId)], include_docs: true });
    const [session, tombstone] = rows;
    return {
      rev: (session?.value as { rev?: string } | undefined)?.rev,
      doc: session?.doc ?? undefined,
      until: tombstoneEnd(tombstone?.doc ?? undefined),
    };
  }

  async #ownerRows(owner: string): Promise<PouchRow[]> {
    return (await this.db.query(OWNERS_VIEW, { key: owner, include_docs: true })).rows;
  }

  /** Deletes the documents of view rows (the value is the revision); resolves with how many went. */
  async #deleteRows(rows: PouchRow[]): Promise<number> {
    const deletes = rows.map((row) => ({ _id: row.id as string, _rev: row.value as string, _deleted: true }));
    if (deletes.length === 0) return 0;
    let deleted = 0;
    for (const [index, result] of (await this.db.bulkDocs(deletes)).entries()) {
      this.#cache.delete(deletes[index]?._id as string);
      if (result.ok === true || (result.error === undefined && typeof result.rev === "string")) deleted++;
      // A conflict: it changed since the index read (kept). Missing: someone else deleted it.
      else if (!isConflict(result) && !isMissing(result)) throw result;
    }
    return deleted;
  }
}

/** A session in any layout (ours, damaged ours, session-pouchdb-store's). */
function isSessionDocument(doc: Fields): boolean {
  return doc.type === SESSION_TYPE || isLegacyDocument(doc);
}

/** The latest end of a tombstone among what was found (the document itself, and a legacy tombstone). */
function liveUntil(known: Known): number {
  return Math.max(tombstoneEnd(known.doc), known.until ?? Number.NEGATIVE_INFINITY);
}

/** A tombstone until `tombstone.until`, or later if one that ends later is already there. */
function tombstonePlan(tombstone: Tombstone): Plan {
  return (known) =>
    tombstoneEnd(known.doc) >= tombstone.until ? null : tombstoneDocument(tombstone.now, tombstone.until);
}

/**
 * Waits before conflict retry `retry` (1 for the second try): 2-4 ms, doubling up to 128-256 ms.
 * Retrying two rival writers at once lets the faster one win every round; a growing, jittered wait
 * lets its burst finish. The first retry goes at once: its usual cause is a stale cached revision.
 */
function pause(retry: number): Promise<void> {
  const wait = Math.min(256, 4 * 2 ** (retry - 1));
  return new Promise((resolve) => setTimeout(resolve, wait / 2 + (Math.random() * wait) / 2));
}

/**
 * The last-known revision and fields of up to `capacity` documents, refreshed by every read and
 * write, the least recently refreshed dropped first. A stale entry (another process wrote since)
 * costs one conflict and a read, never a lost write.
 */
class RevisionCache {
  readonly #entries = new Map<string, Known>();
  constructor(readonly capacity: number) {}

  get(docId: string): Known | undefined {
    return this.#entries.get(docId);
  }

  set(docId: string, known: Known): void {
    if (this.capacity === 0) return;
    this.#entries.delete(docId); // re-inserted at the end: the Map keeps insertion order
    this.#entries.set(docId, known);
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  delete(docId: string): void {
    this.#entries.delete(docId);
  }

  clear(): void {
    this.#entries.clear();
  }
}
