import type * as kit from "@sessionkit/core/kit";
import { idFingerprint, KeyedQueue } from "@sessionkit/core/kit";
import { Bank, call, isMissing } from "./errors.js";
import type { DatabankLike, Resolved } from "./index.js";
import { bucketLog, countOf, LO, Logs } from "./logs.js";
import { decodeSession, encodeSession, type Found, isPrototypeName, type Meta, tombstoneUntil } from "./schema.js";

/** What this process last knew of a stored session: spares the read an update would need. */
interface Known {
  createdAt?: number;
  /** Bucket of the expiry the index lists it by (NaN: no index does). */
  bucket: number;
  /** The owner whose log lists it (undefined: none known). */
  owner?: string | null;
}
const UNINDEXED: Known = { bucket: Number.NaN };
const MISSING = Symbol("missing");
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
  private bank: Bank | undefined;
  private logs: Logs | undefined;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly queue = new IdQueue();
  private readonly known = new Map<string, Known>();
  private readonly tombs: string;
  private readonly index: string;

  constructor(
    private readonly source: { bank: DatabankLike } | { open(): Promise<DatabankLike>; name: string },
    private readonly o: Resolved,
  ) {
    this.name = "bank" in source ? "databank" : `databank:${source.name}`;
    this.tombs = `${o.type}_tombstones`;
    this.index = `${o.type}_index`;
    const idProblem = (id: string) =>
      isPrototypeName(id) ? "names an Object.prototype member, which databank's memory driver can't store" : undefined;
    this.capabilities = { owners: true, tombstones: true, createdAt: true, idProblem };
    if (o.connectDatabank) this.capabilities = { ...this.capabilities, legacy: "connect-databank" };
  }

  init(): Promise<void> {
    if (this.closing) return Promise.reject(new Error("databank: init() after close()"));
    this.opening ??= (async () => {
      const bank = new Bank("bank" in this.source ? this.source.bank : await this.source.open());
      this.logs = new Logs(bank, this.index);
      this.bank = bank;
    })().catch((error: unknown) => {
      this.opening = undefined; // the next call tries again
      throw error;
    });
    return this.opening;
  }

  /** One databank read, decoded in the driver's callback: one promise. */
  get(id: string, now: number): Promise<kit.SessionRecord | null> {
    return call<unknown, kit.SessionRecord | null>(
      (cb) => this.parts().bank.db.read(this.o.type, id, cb),
      isMissing,
      MISSING,
      (value) => (value === MISSING ? null : this.found(id, decodeSession(value, id, now, this.o.legacyTtl))),
    );
  }

  /**
   * One `update` when this process knows the record (from a get or a write): it keeps createdAt,
   * and can't bring back a destroyed session, whose record is gone (databank's `update` fails on
   * a missing key). Otherwise the tombstone is read and the record `create`d.
   */
  upsert(write: kit.SessionWrite): Promise<boolean> {
    return this.queue.run(write.id, () => {
      const known = this.known.get(write.id);
      if (!known) return this.write(write, undefined);
      // The request path: one update, settled in the driver's callback (one promise).
      const meta = this.meta(write, known.createdAt ?? write.now, write.owner);
      const value = this.encode(write.id, write.payload, meta);
      return call(
        (cb) => this.parts().bank.db.update(this.o.type, write.id, value, cb),
        isMissing,
        MISSING,
        (updated) => (updated === MISSING ? this.write(write, undefined, true) : this.indexed(write.id, meta, known)),
      );
    });
  }

  /** The other paths; `changed`: an update just found the record gone, so the first step is a read. */
  private async write(w: kit.SessionWrite, known: Known | undefined, changed = false): Promise<boolean> {
    const { bank } = this.parts();
    for (let attempt = 0; attempt < 4; attempt++) {
      if (changed) {
        // The record changed under us (destroyed, collected, created elsewhere): learn what is there.
        const value = await bank.read(this.o.type, w.id);
        known = value === undefined ? undefined : this.knownOf(decodeSession(value, w.id, w.now, this.o.legacyTtl));
      }
      changed = true;
      if (known) {
        const meta = this.meta(w, known.createdAt ?? w.now, w.owner);
        if (await bank.update(this.o.type, w.id, this.encode(w.id, w.payload, meta)))
          return this.indexed(w.id, meta, known);
      } else {
        if (await this.tombstoned(w.id, w.now)) return false;
        const meta = this.meta(w, w.now, w.owner);
        // The tombstone is read again right behind the create: a destroy landing in between is seen and undone.
        const created = bank.create(this.o.type, w.id, this.encode(w.id, w.payload, meta));
        const [made, late] = await Promise.all([created, this.tombstoned(w.id, w.now)]);
        if (made && late) return bank.del(this.o.type, w.id).then(() => false);
        if (made) return this.indexed(w.id, meta, undefined);
      }
    }
    throw new Error("databank: the record kept changing during an upsert");
  }

  /**
   * No partial update in databank: read, then written back with the new expiry, in this
   * process's order for the id. `update` fails if the record was deleted in between: a touch
   * never revives a destroyed or collected session.
   */
  touch(t: kit.SessionTouch): Promise<void> {
    const db = () => this.parts().bank.db;
    const touched = this.queue.run(t.id, () =>
      call(
        (cb) => db().read(this.o.type, t.id, cb),
        isMissing,
        MISSING,
        (value): unknown => {
          const found = value === MISSING ? undefined : decodeSession(value, t.id, t.now, this.o.legacyTtl);
          if (!found || !(found.record.expiresAt > t.now)) return; // missing, not a session, or expired
          const meta = this.meta(t, found.record.createdAt ?? t.now, found.record.owner);
          const next = this.encode(t.id, found.record.payload, meta);
          return call(
            (cb) => db().update(this.o.type, t.id, next, cb),
            isMissing,
            MISSING,
            (updated) => (updated === MISSING ? undefined : this.indexed(t.id, meta, this.knownOf(found))),
          );
        },
      ),
    );
    return touched as Promise<unknown> as Promise<void>;
  }

  /**
   * With a tombstone, a stored record (live or expired) is replaced by one; a missing id is left
   * missing. The tombstone's create is issued before the record's delete: a write whose update
   * then fails on the gone record finds it.
   */
  destroy(id: string, tombstone?: kit.Tombstone): Promise<void> {
    return this.queue.run(id, async () => {
      const { bank } = this.parts();
      this.known.delete(id);
      if (!tombstone) return void (await bank.del(this.o.type, id));
      const stone = { sid: id, until: tombstone.until, at: tombstone.now };
      const [made, existed] = await Promise.all([bank.create(this.tombs, id, stone), bank.del(this.o.type, id)]);
      if (made && !existed)
        await bank.del(this.tombs, id); // nothing was stored: nothing is left
      else if (!made && existed) await bank.save(this.tombs, id, stone); // an older tombstone, renewed
    });
  }

  async destroyByOwner(owner: string, options: kit.OwnerDestroy = {}): Promise<number> {
    const { logs } = this.parts();
    const log = await logs.owned(owner);
    const mine = [...(await this.records(log.ids, 0)).values()].filter((r) => r.owner === owner).map((r) => r.id);
    const ended = mine.filter((id) => id !== options.except);
    await Promise.all(ended.map((id) => this.destroy(id, options.tombstone)));
    await logs.rewrite(log, ended.length < mine.length ? [options.except as string] : []);
    return ended.length;
  }

  async listByOwner(owner: string, now: number): Promise<kit.SessionRecord[]> {
    const { logs } = this.parts();
    const log = await logs.owned(owner);
    const live = [...(await this.records(log.ids, now)).values()].filter((r) => r.owner === owner && r.expiresAt > now);
    const stale = log.ids.length - live.length;
    if (stale >= STALE_MIN && stale > live.length)
      await logs.rewrite(
        log,
        live.map((r) => r.id),
      );
    return live;
  }

  async clear(): Promise<void> {
    const { bank } = this.parts();
    this.known.clear();
    const logs = new Set<string>([LO]); // index values name themselves: "<log>#<n>" or "<log>#f"
    /** Deletes every value of `type` that `key` names; resolves with how many it could not name. */
    const named = async (type: string, key: (value: Record<string, unknown>) => unknown) => {
      const keys: string[] = [];
      let unnamed = 0;
      await bank.scan(type, (value) => {
        const k = value && typeof value === "object" ? key(value as Record<string, unknown>) : undefined;
        if (typeof k === "string") keys.push(k);
        else unnamed++;
      });
      await Promise.all(keys.map((k) => bank.del(type, k)));
      return unnamed;
    };
    const left = await named(this.o.type, (v) => v.sid);
    await named(this.tombs, (v) => v.sid);
    await named(this.index, (v) => typeof v.k === "string" && logs.add(v.k.slice(0, v.k.lastIndexOf("#"))) && v.k);
    await Promise.all([...logs].map((log) => bank.del(this.index, log)));
    if (left > 0)
      this.o.logger.warn({ op: "clear", unnamed: left }, "values without a sid were left under the session type");
  }

  /**
   * Passed tombstones (a scan of the tombstone type: recent logouts only), then expired records
   * through the expiry index, bucket by bucket from `lo` to now. Stateless: all it needs is stored.
   */
  async deleteExpired(now: number, limit: number): Promise<number> {
    const { bank } = this.parts();
    const passed: string[] = [];
    await bank.scan(this.tombs, (value) => {
      const id = (value as { sid?: unknown } | null)?.sid;
      if ((tombstoneUntil(value) ?? Infinity) <= now && typeof id === "string" && passed.length < limit)
        passed.push(id);
    });
    let deleted = await this.remove(this.tombs, passed);
    const lo = Number(await bank.read(this.index, LO));
    if (!Number.isSafeInteger(lo)) return deleted;
    const current = this.bucketOf(now);
    const end = Math.min(current, lo + WALK - 1);
    let next = lo; // the first bucket not done with: where the next call starts
    for (let from = lo; from <= end && deleted < limit; from += PROBE) {
      const buckets = Array.from({ length: Math.min(end, from + PROBE - 1) - from + 1 }, (_, i) => from + i);
      const counts = await bank.readAll(this.index, buckets.map(bucketLog));
      for (const bucket of buckets) {
        if (deleted >= limit) break;
        const n = countOf(counts[bucketLog(bucket)]);
        const done = n === 0 || (await this.collectBucket(bucket, n, now, limit - deleted, (k) => (deleted += k)));
        if (done && bucket < current && next === bucket) next = bucket + 1;
      }
    }
    if (next > lo) await bank.save(this.index, LO, next);
    return deleted;
  }

  /**
   * One due bucket: deletes what has expired (at most `budget`), carries entries of records
   * that live on to the bucket of their expiry (a touch that extends a session writes no entry),
   * and deletes the chunks it is done with. Ids this process is writing wait for the next run.
   * True when the bucket is done with: all handled, and in the past.
   */
  private async collectBucket(bucket: number, n: number, now: number, budget: number, count: (k: number) => void) {
    const { logs } = this.parts();
    const log = bucketLog(bucket);
    const past = bucket < this.bucketOf(now);
    let done = past;
    for (const [number, ids] of await logs.read(log, 1, n)) {
      if (ids === null) continue; // deleted, or not a chunk
      if (budget <= 0) return false;
      const records = await this.records(ids, now);
      const expired: string[] = [];
      const carried = new Map<number, string[]>();
      let keep = !past;
      for (const id of ids) {
        const record = records.get(id);
        if (!record) continue; // gone, or not a session: its entry is dropped
        // A connect-databank browser-session record expires at the end of the bucket it was indexed in.
        const expiresAt = record.expiresAt === Infinity ? (bucket + 1) * this.o.bucketMs : record.expiresAt;
        if (!this.queue.idle(id) || (expiresAt <= now && expired.length >= budget)) keep = true;
        else if (expiresAt <= now) expired.push(id);
        else if (past) push(carried, this.bucketOf(expiresAt), id);
      }
      const k = await this.remove(this.o.type, expired);
      count(k);
      budget -= k;
      if (keep) done = false;
      else {
        await Promise.all([...carried].map(([to, moved]) => logs.append(bucketLog(to), moved)));
        await logs.drop(log, number);
      }
    }
    if (done) await logs.drop(log);
    return done;
  }

  async count(now: number): Promise<number> {
    let live = 0;
    await this.scanSessions(now, (found) => found.record.expiresAt > now && live++);
    return live;
  }

  async *stream(now: number): AsyncIterable<kit.SessionRecord> {
    const records: kit.SessionRecord[] = []; // databank's scan can't be paused: gathered first
    await this.scanSessions(now, (found) => found.record.expiresAt > now && records.push(found.record));
    yield* records;
  }

  /**
   * Lists every session record of the type in the expiry and owner indexes, scanning the whole
   * type: once after moving from connect-databank (no index lists its records until sessionkit
   * writes them), or to repair the indexes. A connect-databank record whose cookie has no expiry
   * is then collected `legacyTtl` after `now` (unless sessionkit writes it before).
   */
  async reindex(now: number): Promise<{ indexed: number; unreadable: number }> {
    const { logs } = this.parts();
    const buckets = new Map<number, string[]>();
    const owned: kit.SessionRecord[] = [];
    const unreadable = await this.scanSessions(now, ({ record, indexedExp }) => {
      push(buckets, this.bucketOf(indexedExp ?? record.expiresAt), record.id);
      if (record.owner !== null) owned.push(record);
    });
    for (const [bucket, ids] of buckets) {
      for (let i = 0; i < ids.length; i += 1000) await logs.append(bucketLog(bucket), ids.slice(i, i + 1000));
    }
    for (const { id, owner } of owned) await logs.appendOwned(owner as string, [id]);
    return { indexed: [...buckets.values()].reduce((n, ids) => n + ids.length, 0), unreadable };
  }

  /** Disconnects only a bank this adapter created, never the user's. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.opening?.catch(() => {});
      const bank = this.bank;
      this.bank = undefined;
      if (bank && !("bank" in this.source)) await new Promise<void>((resolve) => bank.db.disconnect(() => resolve()));
    })();
    return this.closing;
  }

  private parts(): { bank: Bank; logs: Logs } {
    if (!this.bank) throw new Error(this.closing ? "databank: closed" : "databank: init() has not completed");
    return { bank: this.bank, logs: this.logs as Logs };
  }

  private bucketOf(at: number): number {
    return Math.floor(at / this.o.bucketMs);
  }

  private encode(id: string, payload: string, meta: Meta): object {
    return encodeSession(this.o.connectDatabank, id, payload, meta);
  }

  private meta(w: { expiresAt: number; now: number; maxLifetimeMs?: number }, createdAt: number, owner: string | null) {
    const cap = w.maxLifetimeMs === undefined ? undefined : createdAt + w.maxLifetimeMs;
    const meta: Meta = { exp: Math.min(w.expiresAt, cap ?? Infinity), created: createdAt, active: w.now, owner };
    if (cap !== undefined) meta.cap = cap;
    return meta;
  }

  /** Whether a tombstone of `id` is live at `now` (a readAll: a miss costs the driver no error object). */
  private async tombstoned(id: string, now: number): Promise<boolean> {
    return (tombstoneUntil((await this.parts().bank.readAll(this.tombs, [id]))[id]) ?? -Infinity) > now;
  }

  /**
   * The index entries a write needs, then remembers the record. The expiry index lists every
   * record in a bucket no later than its expiry's (GC carries entries forward), so only a new
   * record or an expiry moved to an earlier bucket gets an entry; an owner's log, a new owner.
   */
  private indexed(id: string, meta: Meta, before: Known | undefined): true | Promise<true> {
    const bucket = this.bucketOf(meta.exp);
    const { logs } = this.parts();
    const writes: Promise<void>[] = [];
    if (!(bucket >= (before?.bucket ?? Number.NaN))) writes.push(logs.append(bucketLog(bucket), [id]));
    if (meta.owner !== null && meta.owner !== before?.owner) writes.push(logs.appendOwned(meta.owner, [id]));
    const same = before?.bucket === bucket && before.owner === meta.owner && before.createdAt === meta.created;
    const known = same ? (before as Known) : { createdAt: meta.created, bucket, owner: meta.owner };
    if (writes.length === 0) return same || this.remember(id, known);
    return Promise.all(writes).then(() => this.remember(id, known));
  }

  private knownOf(found: Found | undefined): Known {
    if (found?.indexedExp === undefined) return UNINDEXED;
    return { createdAt: found.record.createdAt, bucket: this.bucketOf(found.indexedExp), owner: found.record.owner };
  }

  /** A record read back (remembered), or null with a warning for a value that is not a session. */
  private found(id: string, found: Found | undefined): kit.SessionRecord | null {
    if (!found) {
      this.o.logger.warn(
        { op: "get", sidHash: idFingerprint(id) },
        "the stored value is not a session; read as missing",
      );
      return null;
    }
    const had = this.known.get(id);
    const { createdAt, owner } = found.record;
    const bucket = found.indexedExp === undefined ? Number.NaN : this.bucketOf(found.indexedExp);
    if (!had || had.bucket !== bucket || had.owner !== owner || had.createdAt !== createdAt) {
      this.remember(id, this.knownOf(found));
    }
    return found.record;
  }

  private remember(id: string, known: Known): true {
    const had = this.known.get(id);
    if (had && had.bucket === known.bucket && had.owner === known.owner && had.createdAt === known.createdAt)
      return true;
    this.known.set(id, known);
    // The first remembered is forgotten first: a session it forgets costs one read on its next write.
    if (this.known.size > KNOWN_MAX) this.known.delete(this.known.keys().next().value as string);
    return true;
  }

  /** The session records among `ids`, by id; a browser-session one of connect-databank's has expiry Infinity. */
  private async records(ids: string[], now: number): Promise<Map<string, kit.SessionRecord>> {
    const records = new Map<string, kit.SessionRecord>();
    for (let i = 0; i < ids.length; i += 1000) {
      const values = await this.parts().bank.readAll(this.o.type, ids.slice(i, i + 1000));
      for (const [id, value] of Object.entries(values)) {
        const found = value === null ? undefined : decodeSession(value, id, now, this.o.legacyTtl);
        if (found) records.set(id, found.guessed ? { ...found.record, expiresAt: Infinity } : found.record);
      }
    }
    return records;
  }

  /** Deletes `ids` from `type` at once; resolves with how many were there. */
  private async remove(type: string, ids: string[]): Promise<number> {
    const { bank } = this.parts();
    return (await Promise.all(ids.map((id) => bank.del(type, id)))).filter(Boolean).length;
  }

  /** Scans the session type; resolves with how many values were not sessions (and logs it). */
  private async scanSessions(now: number, use: (found: Found) => unknown): Promise<number> {
    let unreadable = 0;
    await this.parts().bank.scan(this.o.type, (value) => {
      const found = decodeSession(value, undefined, now, this.o.legacyTtl);
      if (found) use(found);
      else unreadable++;
    });
    if (unreadable > 0)
      this.o.logger.warn({ op: "scan", unreadable }, "values under the session type are not sessions; skipped");
    return unreadable;
  }
}

function push<K>(map: Map<K, string[]>, key: K, id: string): void {
  const ids = map.get(key);
  if (ids) ids.push(id);
  else map.set(key, [id]);
}
