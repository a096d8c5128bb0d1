import type * as kit from "@sessionkit/core/kit";
import { idFingerprint, KeyedQueue } from "@sessionkit/core/kit";
import { Bank } from "./errors.js";
import type { Resolved, Source } from "./index.js";
import { bucketLog, countOf, LO, Logs, ownerLog, range } from "./logs.js";
import { decodeSession, encodeSession, type Found, isPrototypeName, type Meta, tombstoneUntil } from "./schema.js";

/** What this process last knew of a stored record (its `Meta`): spares the read an update would need. */
type Known = Partial<Meta>;
/** A record no index lists (another layout's): its owner is not known either. */
const UNINDEXED: Known = {};
const KNOWN_MAX = 16_384;
/** GC probes this many buckets per read, and walks at most WALK (~23 days of 60 s buckets) per call. */
const PROBE = 512;
const WALK = 64 * PROBE;
/** An owner's log is rewritten when a listing finds at least this many stale entries, and more stale than live. */
const STALE_MIN = 32;

class IdQueue extends KeyedQueue {
  idle = (id: string): boolean => !this.busy(id);
}

export class DatabankBackend implements kit.SessionBackend {
  readonly name: string;
  readonly capabilities: kit.BackendCapabilities;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly bank = new Bank();
  private readonly queue = new IdQueue();
  private known = new Map<string, Known>();
  private older = new Map<string, Known>();
  private readonly type: string;
  private readonly tombs: string;
  private readonly logs: Logs;

  constructor(
    private readonly source: Source,
    private readonly o: Resolved,
  ) {
    this.name = source.name;
    this.type = o.type;
    this.tombs = `${o.type}_tombstones`;
    this.logs = new Logs(this.bank, `${o.type}_index`);
    const idProblem = (id: string) =>
      isPrototypeName(id) ? "names an Object.prototype member, which databank's memory driver can't store" : undefined;
    const legacy = o.connectDatabank ? { legacy: "connect-databank" } : {};
    this.capabilities = { owners: true, tombstones: true, createdAt: true, idProblem, ...legacy };
  }

  init(): Promise<void> {
    if (this.closing) return Promise.reject(new Error("databank: init() after close()"));
    this.opening ??= this.source.open().then(
      (db) => {
        this.bank.db = db;
      },
      (error: unknown) => {
        this.opening = undefined; // the next call tries again
        throw error;
      },
    );
    return this.opening;
  }

  /** One databank read, decoded in the driver's callback. */
  get(id: string, now: number): Promise<kit.SessionRecord | null> {
    return this.bank.read(this.type, id, (value) => {
      const found = this.decode(value, id, now);
      if (found) return this.remember(id, found.meta ?? UNINDEXED) && found.record;
      if (value === undefined) return null;
      this.o.logger?.warn(
        { op: "get", sidHash: idFingerprint(id) },
        "the stored value is not a session; read as missing",
      );
      return null;
    });
  }

  upsert(write: kit.SessionWrite): Promise<boolean> {
    return this.queue.run(write.id, () => this.write(write, this.known.get(write.id) ?? this.older.get(write.id), 0));
  }

  /**
   * No partial update in databank: read, then written back with the new expiry, in this
   * process's order for the id. `update` fails if the record was deleted in between: a touch
   * never revives a destroyed or collected session.
   */
  touch(t: kit.SessionTouch): Promise<void> {
    const touched = this.queue.run(t.id, () =>
      this.bank.read(this.type, t.id, (value) => {
        const found = this.decode(value, t.id, t.now);
        if (!found || !(found.record.expiresAt > t.now)) return; // missing, not a session, or expired
        const { id, expiresAt, now, maxLifetimeMs } = t;
        const { payload, owner } = found.record;
        return this.write({ id, payload, expiresAt, owner, now, maxLifetimeMs }, found.meta ?? UNINDEXED, -1);
      }),
    );
    return touched as Promise<unknown> as Promise<void>;
  }

  /**
   * One `update` when this process knows the record: it keeps createdAt, and can't bring back a
   * destroyed session, whose record is gone (databank's `update` fails on a missing key).
   * Otherwise, unless a tombstone is live, a `create`, with the tombstone read again alongside: a
   * destroy landing in between is seen and the record deleted again (visible for that one round
   * trip only in that race; a write after the logout never creates it). When the record turns
   * out to have changed (destroyed, collected, created elsewhere), what is there is read and the
   * write tried again; a touch (`attempt` -1) leaves it.
   */
  private write(w: kit.SessionWrite, known: Known | undefined, attempt: number): Promise<boolean> {
    const again = (): false | Promise<boolean> => {
      if (attempt < 0) return false;
      if (attempt >= 3) throw new Error("databank: the record kept changing during an upsert");
      return this.bank.read(this.type, w.id, (value) =>
        this.write(
          w,
          value === undefined ? undefined : (this.decode(value, w.id, w.now)?.meta ?? UNINDEXED),
          attempt + 1,
        ),
      );
    };
    const created = known?.created ?? w.now;
    const cap = w.maxLifetimeMs === undefined ? undefined : created + w.maxLifetimeMs;
    const meta: Meta = { exp: Math.min(w.expiresAt, cap ?? Infinity), created, active: w.now, owner: w.owner };
    if (cap !== undefined) meta.cap = cap;
    const value = encodeSession(this.o.connectDatabank, w.id, w.payload, meta);
    if (known)
      return this.bank.update(this.type, w.id, value, (_, ok) => (ok ? this.indexed(w.id, meta, known) : again()));
    return this.tombstoned(w.id, w.now).then((dead) => (dead ? false : this.create(w, meta, value, again)));
  }

  /**
   * A new record: its `create`, the tombstone read again alongside, and, for a session expiring
   * after the current bucket, its index entries alongside too: GC drops an entry only from a past
   * bucket, and skips ids this process is writing. An entry left by a write that then fails or is
   * refused finds no record, and GC drops it.
   */
  private create(w: kit.SessionWrite, meta: Meta, value: object, again: () => false | Promise<boolean>) {
    const early = this.bucketOf(meta.exp) > this.bucketOf(w.now) ? this.entries(w.id, meta, undefined) : undefined;
    // The record comes down as soon as a live tombstone is seen, not once the entry is stored.
    const steps = [this.bank.create(this.type, w.id, value), this.tombstoned(w.id, w.now)] as const;
    const answered = Promise.all(steps).then(async ([made, late]) => {
      if (made && late) await this.bank.del(this.type, w.id);
      return { made, late };
    });
    return Promise.all([answered, early]).then(([{ made, late }]) => {
      if (late) return false;
      if (!made) return again();
      return early ? this.remember(w.id, meta) : this.indexed(w.id, meta, undefined);
    });
  }

  /**
   * With a tombstone, a stored record (live or expired) is replaced by one; a missing id is left
   * missing. The tombstone's create is issued before the record's delete: a write whose update
   * then fails on the gone record finds it.
   */
  destroy(id: string, tombstone?: kit.Tombstone): Promise<void> {
    const destroyed = this.queue.run(id, (): Promise<unknown> => {
      this.known.delete(id);
      this.older.delete(id);
      if (!tombstone) return this.bank.del(this.type, id);
      const stone = { sid: id, until: tombstone.until, at: tombstone.now };
      const both = Promise.all([this.bank.create(this.tombs, id, stone), this.bank.del(this.type, id)]);
      return both.then(([made, existed]): Promise<unknown> | undefined => {
        if (made && !existed) return this.bank.del(this.tombs, id); // nothing was stored: nothing is left
        if (!made && existed) return this.bank.save(this.tombs, id, stone); // an older tombstone, renewed
      });
    });
    return destroyed as Promise<unknown> as Promise<void>;
  }

  async destroyByOwner(owner: string, options: kit.OwnerDestroy = {}): Promise<number> {
    const log = await this.logs.owned(owner);
    const mine = (await this.records(log.ids, 0)).filter((r) => r.owner === owner).map((r) => r.id);
    const ended = mine.filter((id) => id !== options.except);
    await Promise.all(ended.map((id) => this.destroy(id, options.tombstone)));
    await this.logs.rewrite(log, ended.length < mine.length ? [options.except as string] : []);
    return ended.length;
  }

  async listByOwner(owner: string, now: number): Promise<kit.SessionRecord[]> {
    const log = await this.logs.owned(owner);
    const live = (await this.records(log.ids, now)).filter((r) => r.owner === owner && r.expiresAt > now);
    const stale = log.ids.length - live.length;
    if (stale >= STALE_MIN && stale > live.length)
      await this.logs.rewrite(
        log,
        live.map((r) => r.id),
      );
    return live;
  }

  /** Deletes every value of the three types that names its key (index values name themselves), and the logs' counters. */
  async clear(): Promise<void> {
    [this.known, this.older] = [new Map(), new Map()];
    let unnamed = 0;
    for (const type of [this.type, this.tombs, this.logs.type]) {
      const keys: string[] = [];
      const name = type === this.logs.type ? "k" : "sid";
      await this.bank.scan(type, (value) => {
        const key = (value as Record<string, unknown> | null)?.[name];
        if (typeof key === "string") keys.push(key);
        else if (type === this.type) unnamed++;
      });
      // Index values are chunks "<log>#<n>" and floors "<log>#f": they name the logs.
      if (type === this.logs.type) keys.push(LO, ...new Set(keys.map((k) => k.slice(0, k.lastIndexOf("#")))));
      await this.remove(type, keys);
    }
    if (unnamed > 0)
      this.o.logger?.warn({ op: "clear", unnamed }, "values without a sid were left under the session type");
  }

  /**
   * Passed tombstones (a scan of the tombstone type: recent logouts only), then expired records
   * through the expiry index, bucket by bucket from `lo` to now. Stateless: all it needs is stored.
   */
  async deleteExpired(now: number, limit: number): Promise<number> {
    const passed: string[] = [];
    await this.bank.scan(this.tombs, (value) => {
      const id = (value as { sid?: unknown } | null)?.sid;
      if ((tombstoneUntil(value) ?? Infinity) <= now && typeof id === "string" && passed.length < limit)
        passed.push(id);
    });
    let deleted = await this.remove(this.tombs, passed);
    const lo = Number(await this.bank.read(this.logs.type, LO));
    if (!Number.isSafeInteger(lo)) return deleted;
    const current = this.bucketOf(now);
    const end = Math.min(current, lo + WALK - 1);
    let next = lo; // the first bucket not done with: where the next call starts
    for (let from = lo; from <= end && deleted < limit; from += PROBE) {
      const buckets = range(from, Math.min(end, from + PROBE - 1));
      const counts = await this.bank.readAll(this.logs.type, buckets.map(bucketLog));
      for (const bucket of buckets) {
        if (deleted >= limit) break;
        const n = countOf(counts[bucketLog(bucket)]);
        const [k, done] = n === 0 ? [0, true] : await this.collectBucket(bucket, n, now, limit - deleted);
        deleted += k;
        if (done && bucket < current && next === bucket) next = bucket + 1;
      }
    }
    if (next > lo) await this.bank.save(this.logs.type, LO, next);
    return deleted;
  }

  /**
   * One due bucket: deletes what has expired (at most `budget`), carries entries of records
   * that live on to the bucket of their expiry (a touch that extends a session writes no entry),
   * and deletes the chunks it is done with. Ids this process is writing wait for the next run.
   * Resolves with how many it deleted, and whether the bucket is done with (all handled, and past).
   */
  private async collectBucket(bucket: number, n: number, now: number, budget: number): Promise<[number, boolean]> {
    const log = bucketLog(bucket);
    const past = bucket < this.bucketOf(now);
    let [deleted, done] = [0, past];
    for (const [number, ids] of await this.logs.read(log, 1, n)) {
      if (ids === null) continue; // deleted, or not a chunk
      if (deleted >= budget) return [deleted, false];
      const expired: string[] = [];
      const carried = new Map<number, string[]>();
      // An id this process is writing keeps its chunk, record or not: a new record's entry is
      // written alongside its create, which may not have landed yet.
      let keep = !past || ids.some((id) => !this.queue.idle(id));
      // Ids whose record is gone (or is not a session) are left out: their entries are dropped.
      for (const { id, expiresAt: at } of await this.records(ids, now)) {
        // A connect-databank browser-session record expires at the end of the bucket it was indexed in.
        const expiresAt = at === Infinity ? (bucket + 1) * this.o.bucketMs : at;
        if (!this.queue.idle(id) || (expiresAt <= now && expired.length >= budget - deleted)) keep = true;
        else if (expiresAt <= now) expired.push(id);
        else if (past) push(carried, this.bucketOf(expiresAt), id);
      }
      deleted += await this.remove(this.type, expired);
      if (keep) done = false;
      else {
        await Promise.all([...carried].map(([to, moved]) => this.logs.append(bucketLog(to), moved)));
        await this.logs.drop(log, number);
      }
    }
    if (done) await this.logs.drop(log);
    return [deleted, done];
  }

  async count(now: number): Promise<number> {
    return (await this.live(now)).length;
  }

  async *stream(now: number): AsyncIterable<kit.SessionRecord> {
    yield* await this.live(now); // databank's scan can't be paused: gathered first
  }

  /**
   * Lists every session record of the type in the expiry and owner indexes, scanning the whole
   * type: once after moving from connect-databank (no index lists its records until sessionkit
   * writes them), or to repair the indexes. A connect-databank record whose cookie has no expiry
   * is then collected `legacyTtl` after `now` (unless sessionkit writes it before).
   */
  async reindex(now: number): Promise<{ indexed: number; unreadable: number }> {
    const logs = new Map<string, string[]>();
    let indexed = 0;
    const unreadable = await this.scanSessions(now, ({ record: { id, expiresAt, owner }, meta }) => {
      push(logs, bucketLog(this.bucketOf(meta?.exp ?? expiresAt)), id);
      if (owner !== null) push(logs, ownerLog(owner), id);
      indexed++;
    });
    for (const [log, ids] of logs) {
      for (let i = 0; i < ids.length; i += 1000) await this.logs.append(log, ids.slice(i, i + 1000));
    }
    return { indexed, unreadable };
  }

  /** Disconnects only a bank this adapter created, never the user's. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.bank.closed = true;
      await this.opening?.catch(() => {});
      const db = this.bank.db;
      this.bank.db = undefined;
      if (db && this.source.owned) await new Promise<void>((resolve) => db.disconnect(() => resolve()));
    })();
    return this.closing;
  }

  private bucketOf(at: number): number {
    return Math.floor(at / this.o.bucketMs);
  }

  /** A stored value as a session record; undefined for a missing key or a value that is not one. */
  private decode(value: unknown, id: string | undefined, now: number): Found | undefined {
    return decodeSession(value, id, now, this.o.legacyTtl);
  }

  /** Whether a tombstone of `id` is live at `now` (a readAll: a miss costs the driver no error object). */
  private async tombstoned(id: string, now: number): Promise<boolean> {
    return (tombstoneUntil((await this.bank.readAll(this.tombs, [id]))[id]) ?? -Infinity) > now;
  }

  /** The index entries a write needs, then remembers the record. */
  private indexed(id: string, meta: Meta, before: Known | undefined): true | Promise<true> {
    const writing = this.entries(id, meta, before);
    return writing ? writing.then(() => this.remember(id, meta)) : this.remember(id, meta);
  }

  /**
   * The expiry index lists every record in a bucket no later than its expiry's (GC carries entries
   * forward), so only a new record or an expiry moved to an earlier bucket gets an entry; an
   * owner's log, a new owner. Undefined when none is needed.
   */
  private entries(id: string, meta: Meta, before: Known | undefined): Promise<unknown> | undefined {
    const bucket = this.bucketOf(meta.exp);
    const expiry = !(bucket >= this.bucketOf(before?.exp ?? Number.NaN));
    const owner = meta.owner !== null && meta.owner !== before?.owner;
    const toExpiry = expiry ? this.logs.append(bucketLog(bucket), [id]) : undefined;
    const toOwner = owner ? this.logs.append(ownerLog(meta.owner as string), [id]) : undefined;
    return toExpiry && toOwner ? Promise.all([toExpiry, toOwner]) : (toExpiry ?? toOwner);
  }

  /**
   * Remembered in the newer generation; when it holds half of KNOWN_MAX it becomes the older, and
   * the older is forgotten whole (no per-entry eviction). A session forgotten costs one read on its next write.
   */
  private remember(id: string, known: Known): true {
    this.known.set(id, known);
    if (this.known.size >= KNOWN_MAX / 2) [this.older, this.known] = [this.known, new Map()];
    return true;
  }

  /** The session records among `ids`; a browser-session one of connect-databank's has expiry Infinity. */
  private async records(ids: string[], now: number): Promise<kit.SessionRecord[]> {
    const records: kit.SessionRecord[] = [];
    for (let i = 0; i < ids.length; i += 1000) {
      for (const [id, value] of Object.entries(await this.bank.readAll(this.type, ids.slice(i, i + 1000)))) {
        const found = this.decode(value, id, now);
        if (found) records.push(found.guessed ? { ...found.record, expiresAt: Infinity } : found.record);
      }
    }
    return records;
  }

  /** Deletes `ids` from `type` at once; resolves with how many were there. */
  private async remove(type: string, ids: string[]): Promise<number> {
    return (await Promise.all(ids.map((id) => this.bank.del(type, id)))).filter(Boolean).length;
  }

  /** The records live at `now` (a scan of the whole type). */
  private async live(now: number): Promise<kit.SessionRecord[]> {
    const records: kit.SessionRecord[] = [];
    await this.scanSessions(now, ({ record }) => record.expiresAt > now && records.push(record));
    return records;
  }

  /** Scans the session type; resolves with how many values were not sessions (and logs it). */
  private async scanSessions(now: number, use: (found: Found) => unknown): Promise<number> {
    let unreadable = 0;
    await this.bank.scan(this.type, (value) => {
      const found = this.decode(value, undefined, now);
      if (found) use(found);
      else unreadable++;
    });
    if (unreadable > 0)
      this.o.logger?.warn({ op: "scan", unreadable }, "values under the session type are not sessions; skipped");
    return unreadable;
  }
}

function push<K>(map: Map<K, string[]>, key: K, id: string): void {
  const ids = map.get(key);
  if (ids) ids.push(id);
  else map.set(key, [id]);
}
