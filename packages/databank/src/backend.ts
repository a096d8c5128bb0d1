import {
  type BackendCapabilities,
  idFingerprint,
  KeyedQueue,
  type OwnerDestroy,
  type SessionBackend,
  type SessionRecord,
  type SessionTouch,
  type SessionWrite,
  type Tombstone,
} from "@sessionkit/core/kit";
import { call, driverError, isMissing, isTaken, NONE } from "./errors.js";
import type { DatabankLike, Resolved } from "./index.js";
import { countOf, Logs, range } from "./logs.js";
import {
  bucketLog,
  chunkKey,
  decodeSession,
  encodeSession,
  type Found,
  floorKey,
  isPrototypeName,
  LO,
  type Meta,
  ownerLog,
  tombstoneUntil,
} from "./schema.js";

/** What this process last knew of a stored session: spares the read an update would need. */
interface Known {
  createdAt: number | undefined;
  /** Bucket of the expiry the index lists it under (NaN: not indexed). */
  bucket: number;
  /** Owner whose log lists it (undefined: none known). */
  owner: string | null | undefined;
}
const KNOWN_MAX = 16_384;
/** Buckets probed per read when GC walks from `lo` to now, and per call at most (~23 days of 60 s buckets). */
const PROBE = 512;
const WALK = 64 * PROBE;
/** An owner log is compacted when a listing finds at least this many stale entries (and more stale than live). */
const STALE_MIN = 32;

class IdQueue extends KeyedQueue {
  idle = (id: string): boolean => !this.busy(id);
}

export class DatabankBackend implements SessionBackend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  private bank: DatabankLike | undefined;
  private logs: Logs | undefined;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly queue = new IdQueue();
  private readonly known = new Map<string, Known>();
  private readonly tombs: string;
  private readonly index: string;

  constructor(
    private readonly source: { bank: DatabankLike } | { open: () => Promise<DatabankLike>; name: string },
    private readonly o: Resolved,
  ) {
    this.name = "bank" in source ? "databank" : `databank:${source.name}`;
    this.tombs = `${o.type}_tombstones`;
    this.index = `${o.type}_index`;
    this.capabilities = {
      owners: true,
      tombstones: true,
      createdAt: true,
      idProblem: (id) =>
        isPrototypeName(id)
          ? "names an Object.prototype member, which databank's memory driver can't store"
          : undefined,
      ...(o.connectDatabank ? { legacy: "connect-databank" } : {}),
    };
  }

  init(): Promise<void> {
    if (this.closing) return Promise.reject(new Error("databank: init() after close()"));
    this.opening ??= (async () => {
      const bank = "bank" in this.source ? this.source.bank : await this.source.open();
      this.logs = new Logs(bank, this.index, (log) => this.lowerLo(log));
      this.bank = bank;
    })().catch((error: unknown) => {
      this.opening = undefined; // the next call tries again
      throw error;
    });
    return this.opening;
  }

  /** One databank read, decoded in its callback (the hot path: one promise, no other call). */
  get(id: string, now: number): Promise<SessionRecord | null> {
    return new Promise((resolve, reject) => {
      const answer = (error: unknown, value: unknown) => {
        if (error !== null && error !== undefined) {
          if (isMissing(error)) resolve(null);
          else reject(driverError(error));
        } else {
          try {
            resolve(this.found(id, decodeSession(value, id, now, this.o.legacyTtl)));
          } catch (failure) {
            reject(failure);
          }
        }
      };
      try {
        this.ready().read(this.o.type, id, answer);
      } catch (error) {
        reject(error instanceof Error ? error : driverError(error));
      }
    });
  }

  /**
   * One `update` when this process knows the record (from a get or a write): it keeps createdAt
   * and can't bring back a destroyed session, whose record is gone (`update` fails on a missing
   * key). Otherwise the tombstone is read, the record `create`d and, in the same breath, the
   * tombstone read again: a destroy that landed in between is seen, and the record deleted again.
   */
  upsert(write: SessionWrite): Promise<boolean> {
    return this.queue.run(write.id, () => this.write(write, this.known.get(write.id), 0));
  }

  private write(w: SessionWrite, known: Known | undefined, attempt: number): Promise<boolean> {
    if (attempt > 3) return Promise.reject(new Error("databank: the record kept changing during an upsert"));
    if (known) {
      const meta = this.meta(w, known.createdAt ?? w.now, w.owner);
      return call(
        (cb) => this.ready().update(this.o.type, w.id, encodeSession(this.o.layout, w.id, w.payload, meta), cb),
        isMissing,
        (updated) => (updated === NONE ? this.reread(w, attempt) : this.indexed(w.id, meta, known)),
      );
    }
    return this.tombstoned(w.id, w.now).then((refused) => {
      if (refused) return false;
      const meta = this.meta(w, w.now, w.owner);
      const value = encodeSession(this.o.layout, w.id, w.payload, meta);
      const created = call((cb) => this.ready().create(this.o.type, w.id, value, cb), isTaken);
      const recheck = this.tombstoned(w.id, w.now); // issued right behind the create
      return Promise.all([created, recheck]).then(([made, late]): boolean | Promise<boolean> => {
        if (made === NONE) return this.reread(w, attempt);
        if (!late) return this.indexed(w.id, meta, undefined);
        return call(
          (cb) => this.ready().del(this.o.type, w.id, cb),
          isMissing,
          () => false,
        );
      });
    });
  }

  /** Whether a tombstone of `id` is live at `now` (read with readAll: a miss costs no error object). */
  private tombstoned(id: string, now: number): Promise<boolean> {
    return call<Record<string, unknown>, boolean>(
      (cb) => this.ready().readAll(this.tombs, [id], cb),
      isMissing,
      (values) => (tombstoneUntil(values === NONE ? undefined : values?.[id]) ?? -Infinity) > now,
    );
  }

  /** The record changed under a write (destroyed, collected, or created elsewhere): learn what is there, write again. */
  private reread(w: SessionWrite, attempt: number): Promise<boolean> {
    return call(
      (cb) => this.ready().read(this.o.type, w.id, cb),
      isMissing,
      (value) => {
        const found = value === NONE ? undefined : decodeSession(value, w.id, w.now, this.o.legacyTtl);
        return this.write(w, value === NONE ? undefined : found ? this.knownOf(found) : UNINDEXED, attempt + 1);
      },
    );
  }

  /**
   * Databank has no partial update: the record is read and written back with the new expiry,
   * in this process's queue for the id. `update` fails if the record was deleted in between, so
   * a touch never revives a destroyed or collected session.
   */
  touch(t: SessionTouch): Promise<void> {
    return this.queue.run(t.id, () =>
      call(
        (cb) => this.ready().read(this.o.type, t.id, cb),
        isMissing,
        (value): undefined | Promise<unknown> => {
          const found = value === NONE ? undefined : decodeSession(value, t.id, t.now, this.o.legacyTtl);
          if (!found || !(found.record.expiresAt > t.now)) return; // missing, not a session, or expired
          const { record } = found;
          const meta = this.meta(t, record.createdAt ?? t.now, record.owner);
          const next = encodeSession(this.o.layout, t.id, record.payload, meta);
          return call(
            (cb) => this.ready().update(this.o.type, t.id, next, cb),
            isMissing,
            (updated) => (updated === NONE ? undefined : this.indexed(t.id, meta, this.knownOf(found))),
          );
        },
      ),
    ) as Promise<unknown> as Promise<void>;
  }

  /** With a tombstone: the tombstone is written, then the record deleted (issued in that order). */
  destroy(id: string, tombstone?: Tombstone): Promise<void> {
    return this.queue.run(id, () => {
      this.known.delete(id);
      const stone = tombstone && { sid: id, until: tombstone.until, at: tombstone.now };
      const saved = stone && call((cb) => this.ready().save(this.tombs, id, stone, cb));
      const deleted = call(
        (cb) => this.ready().del(this.o.type, id, cb),
        isMissing,
        () => undefined,
      );
      return saved ? Promise.all([saved, deleted]).then(() => undefined) : deleted;
    });
  }

  async destroyByOwner(owner: string, options: OwnerDestroy = {}): Promise<number> {
    const log = await this.ownerEntries(owner);
    const records = await this.records(log.ids, 0);
    const mine = [...records.values()].filter((r) => r.owner === owner).map((r) => r.id);
    const ended = mine.filter((id) => id !== options.except);
    await Promise.all(ended.map((id) => this.destroy(id, options.tombstone)));
    await this.rewriteOwner(log, mine.length > ended.length ? [options.except as string] : []);
    return ended.length;
  }

  async listByOwner(owner: string, now: number): Promise<SessionRecord[]> {
    const log = await this.ownerEntries(owner);
    const records = await this.records(log.ids, now);
    const live = [...records.values()].filter((r) => r.owner === owner && r.expiresAt > now);
    const stale = log.ids.length - live.length;
    if (stale >= STALE_MIN && stale > live.length)
      await this.rewriteOwner(
        log,
        live.map((r) => r.id),
      );
    return live;
  }

  async clear(): Promise<void> {
    const bank = this.ready();
    this.known.clear();
    const keyed = async (type: string, keyOf: (value: unknown) => unknown) => {
      const keys: string[] = [];
      let unnamed = 0;
      await this.scan(type, (value) => {
        const key = keyOf(value);
        if (typeof key === "string") keys.push(key);
        else unnamed++;
      });
      await Promise.all(keys.map((key) => call((cb) => bank.del(type, key, cb), isMissing)));
      return unnamed;
    };
    const sid = (value: unknown) => (value as { sid?: unknown } | null)?.sid;
    const unnamed = await keyed(this.o.type, sid);
    await keyed(this.tombs, sid);
    // Index values name themselves (`k`: "<log>#<n>" or "<log>#f"), and so their log's counter.
    const logs = new Set<string>([LO]);
    await keyed(this.index, (value) => {
      const key = (value as { k?: unknown } | null)?.k;
      if (typeof key === "string") logs.add(key.slice(0, key.lastIndexOf("#")));
      return key;
    });
    await Promise.all([...logs].map((key) => call((cb) => bank.del(this.index, key, cb), isMissing)));
    if (unnamed > 0)
      this.o.logger.warn({ op: "clear", unnamed }, "values without a sid were left under the session type");
  }

  /**
   * Passed tombstones (found by scanning the tombstone type, which holds only recent logouts),
   * then expired records found through the expiry index: the buckets from `lo` to now. Stateless:
   * everything it needs is stored.
   */
  async deleteExpired(now: number, limit: number): Promise<number> {
    const bank = this.ready();
    const passed: string[] = [];
    await this.scan(this.tombs, (value) => {
      const until = tombstoneUntil(value);
      const id = (value as { sid?: unknown }).sid;
      if (until !== undefined && until <= now && typeof id === "string" && passed.length < limit) passed.push(id);
    });
    let deleted = await this.remove(this.tombs, passed);
    const lo = await call((cb) => bank.read(this.index, LO, cb), isMissing);
    if (lo === NONE || !Number.isSafeInteger(Number(lo))) return deleted;
    const current = this.bucketOf(now);
    const end = Math.min(current, Number(lo) + WALK - 1);
    let next = Number(lo); // the first bucket not done with: where the next call starts
    let stuck = false;
    for (let from = next; from <= end && deleted < limit; from += PROBE) {
      const buckets = range(from, Math.min(end, from + PROBE - 1));
      const counts = await this.parts().logs.readAll(buckets.map(bucketLog));
      for (const bucket of buckets) {
        if (deleted >= limit) break;
        const n = countOf(counts[bucketLog(bucket)]);
        const done = n === 0 || (await this.collectBucket(bucket, n, now, limit - deleted, (k) => (deleted += k)));
        if (!stuck && done && bucket < current) next = bucket + 1;
        else stuck = true;
      }
    }
    if (next > Number(lo)) await call((cb) => bank.save(this.index, LO, next, cb));
    return deleted;
  }

  /**
   * One due bucket: deletes what has expired (at most `budget`), carries entries of records that
   * live on into the bucket of their expiry (a touch that extends a session writes no entry), and
   * deletes the chunks it is done with. Ids this process is writing are left for the next run.
   * Resolves true when the bucket is done with (all of it handled, and it lies in the past).
   */
  private async collectBucket(bucket: number, n: number, now: number, budget: number, count: (k: number) => void) {
    const { bank, logs } = this.parts();
    const log = bucketLog(bucket);
    const past = bucket < this.bucketOf(now);
    let done = past;
    const chunks = [...(await logs.read(log, 1, n))].filter((c): c is [number, string[]] => c[1] !== null);
    for (let i = 0; i < chunks.length; ) {
      if (budget <= 0) return false;
      // Chunks of up to ~1000 ids at a time: one read of their records.
      const group: [number, string[]][] = [];
      for (let size = 0; i < chunks.length && (size === 0 || size + (chunks[i]?.[1].length ?? 0) <= 1000); i++) {
        group.push(chunks[i] as [number, string[]]);
        size += chunks[i]?.[1].length ?? 0;
      }
      const records = await this.records([...new Set(group.flatMap(([, ids]) => ids))], now);
      for (const [number, ids] of group) {
        const expired: string[] = [];
        const carried = new Map<number, string[]>();
        let keep = !past || budget <= 0;
        for (const id of ids) {
          const found = records.get(id);
          if (!found) continue; // gone, or not a session: the entry is dropped
          // A connect-databank browser-session record expires at the end of the bucket it was indexed in.
          const expiresAt = found.expiresAt === Infinity ? (bucket + 1) * this.o.bucketMs : found.expiresAt;
          if (!this.queue.idle(id) || (expiresAt <= now && expired.length >= budget)) keep = true;
          else if (expiresAt <= now) expired.push(id);
          else if (past) carried.set(this.bucketOf(expiresAt), [...(carried.get(this.bucketOf(expiresAt)) ?? []), id]);
        }
        const k = await this.remove(this.o.type, expired);
        count(k);
        budget -= k;
        if (keep) done = false;
        else {
          await Promise.all([...carried].map(([to, moved]) => logs.append(bucketLog(to), moved)));
          await call((cb) => bank.del(this.index, chunkKey(log, number), cb), isMissing);
        }
      }
    }
    if (done) await call((cb) => bank.del(this.index, log, cb), isMissing);
    return done;
  }

  async count(now: number): Promise<number> {
    let live = 0;
    await this.each(now, (record) => {
      live++;
      return record;
    });
    return live;
  }

  async *stream(now: number): AsyncIterable<SessionRecord> {
    // Databank's scan pushes every value and can't be paused: the live records are gathered first.
    const records: SessionRecord[] = [];
    await this.each(now, (record) => records.push(record));
    yield* records;
  }

  /**
   * Lists every session record of the type in the expiry and owner indexes: once after moving
   * from connect-databank (whose records no index lists until sessionkit writes them), or to
   * repair the indexes. Scans the whole type. A connect-databank record whose cookie has no
   * expiry is collected `legacyTtl` after this call (unless sessionkit writes it before).
   */
  async reindex(now: number): Promise<{ indexed: number; unreadable: number }> {
    const { logs } = this.parts();
    const entries = new Map<string, string[]>();
    const add = (log: string, id: string) => entries.set(log, [...(entries.get(log) ?? []), id]);
    let indexed = 0;
    const unreadable = await this.scanSessions(now, (found) => {
      indexed++;
      add(bucketLog(this.bucketOf(found.indexedExp ?? found.record.expiresAt)), found.record.id);
      if (found.record.owner !== null) add(ownerLog(found.record.owner), found.record.id);
    });
    for (const [log, ids] of entries) {
      for (let i = 0; i < ids.length; i += 1000) await logs.write(log, ids.slice(i, i + 1000));
    }
    return { indexed, unreadable };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.opening?.catch(() => {});
      const bank = this.bank;
      this.bank = undefined;
      // Only a bank this adapter created is disconnected; never the user's.
      if (bank && !("bank" in this.source)) await call((cb) => bank.disconnect(cb));
    })();
    return this.closing;
  }

  private ready(): DatabankLike {
    if (this.bank) return this.bank;
    throw new Error(this.closing ? "databank: closed" : "databank: init() has not completed");
  }

  private parts(): { bank: DatabankLike; logs: Logs } {
    return { bank: this.ready(), logs: this.logs as Logs };
  }

  private knownOf(found: Found): Known {
    if (found.indexedExp === undefined) return UNINDEXED;
    return { createdAt: found.record.createdAt, bucket: this.bucketOf(found.indexedExp), owner: found.record.owner };
  }

  private bucketOf(at: number): number {
    return Math.floor(at / this.o.bucketMs);
  }

  private meta(w: { expiresAt: number; now: number; maxLifetimeMs?: number }, createdAt: number, owner: string | null) {
    const cap = w.maxLifetimeMs === undefined ? undefined : createdAt + w.maxLifetimeMs;
    const meta: Meta = { exp: Math.min(w.expiresAt, cap ?? Infinity), created: createdAt, active: w.now, owner };
    if (cap !== undefined) meta.cap = cap;
    return meta;
  }

  /**
   * Adds index entries a write needs and remembers the record. The expiry index holds every
   * record in a bucket no later than its expiry's, so an entry is written only for a new record
   * or an expiry moved to an earlier bucket (GC carries entries forward); the owner's log gets one
   * when the owner changed.
   */
  private indexed(id: string, meta: Meta, before: Known | undefined): true | Promise<true> {
    const bucket = this.bucketOf(meta.exp);
    const newBucket = !(bucket >= (before?.bucket ?? Number.NaN));
    const newOwner = meta.owner !== null && meta.owner !== before?.owner;
    const same = before?.bucket === bucket && before.owner === meta.owner && before.createdAt === meta.created;
    const known: Known = same ? (before as Known) : { createdAt: meta.created, bucket, owner: meta.owner };
    if (!newBucket && !newOwner) {
      this.remember(id, known);
      return true;
    }
    const { logs } = this.parts();
    const bucketWrite = newBucket ? logs.append(bucketLog(bucket), [id]) : undefined;
    const ownerWrite = newOwner ? logs.append(ownerLog(meta.owner as string), [id]) : undefined;
    return Promise.all([bucketWrite, ownerWrite]).then(() => {
      this.remember(id, known);
      return true as const;
    });
  }

  /** A record read back, or null (with a warning) for a value that is not a session. */
  private found(id: string, found: Found | undefined): SessionRecord | null {
    if (!found) return this.unreadable(id);
    const known = this.known.get(id);
    const bucket = found.indexedExp === undefined ? Number.NaN : this.bucketOf(found.indexedExp);
    // Refreshed only when it changed: a get stays one lookup.
    if (
      !known ||
      known.createdAt !== found.record.createdAt ||
      known.bucket !== bucket ||
      known.owner !== found.record.owner
    ) {
      this.remember(id, this.knownOf(found));
    }
    return found.record;
  }

  private remember(id: string, known: Known): void {
    if (this.known.get(id) === known) return;
    this.known.set(id, known);
    // The first remembered goes first: a session it forgets costs one read on its next write.
    if (this.known.size > KNOWN_MAX) this.known.delete(this.known.keys().next().value as string);
  }

  /** Lowers `lo` to a bucket just written to, when it is below: GC starts there. */
  private async lowerLo(log: string): Promise<void> {
    if (!log.startsWith("x:")) return;
    const bank = this.ready();
    const bucket = Number(log.slice(2));
    const lo = await call((cb) => bank.read(this.index, LO, cb), isMissing);
    if (lo === NONE && (await call((cb) => bank.create(this.index, LO, bucket, cb), isTaken)) === NONE) {
      return this.lowerLo(log); // created by another writer meanwhile
    }
    if (lo !== NONE && !(Number(lo) <= bucket)) await call((cb) => bank.save(this.index, LO, bucket, cb));
  }

  private async ownerEntries(owner: string) {
    const { logs } = this.parts();
    const log = ownerLog(owner);
    const head = await logs.readAll([log, floorKey(log)]);
    const floor = Math.max(1, countOf((head[floorKey(log)] as { f?: unknown } | null)?.f));
    const chunks = await logs.read(log, floor, countOf(head[log]));
    const read = [...chunks].filter(([, ids]) => ids !== null).map(([n]) => n);
    // The floor never passes a missing chunk: it may be one an append is still writing.
    const next = [...chunks].find(([, ids]) => ids === null)?.[0] ?? floor + chunks.size;
    return { log, floor, next, read, ids: [...new Set([...chunks.values()].flatMap((ids) => ids ?? []))] };
  }

  /**
   * Replaces the chunks read by one holding `keep` and moves the floor up to the first missing
   * chunk. Chunks it can't pass yet are emptied instead of deleted, so the next floor passes them.
   */
  private async rewriteOwner(entries: Awaited<ReturnType<DatabankBackend["ownerEntries"]>>, keep: string[]) {
    const { bank, logs } = this.parts();
    const { log, next } = entries;
    if (keep.length > 0) await logs.write(log, keep);
    await Promise.all(
      entries.read.map((n) =>
        n < next
          ? call((cb) => bank.del(this.index, chunkKey(log, n), cb), isMissing)
          : call((cb) => bank.save(this.index, chunkKey(log, n), { k: chunkKey(log, n), ids: [] }, cb)),
      ),
    );
    const key = floorKey(log);
    if (next > entries.floor) await call((cb) => bank.save(this.index, key, { k: key, f: next }, cb));
  }

  /** The session records of `ids` (a browser-session legacy record gets expiry Infinity), keyed by id. */
  private async records(ids: string[], now: number): Promise<Map<string, SessionRecord>> {
    const bank = this.ready();
    const out = new Map<string, SessionRecord>();
    for (let i = 0; i < ids.length; i += 1000) {
      const slice = ids.slice(i, i + 1000);
      const values = await call<Record<string, unknown>>((cb) => bank.readAll(this.o.type, slice, cb));
      for (const id of slice) {
        const value = values === NONE ? undefined : values?.[id];
        const found =
          value === null || value === undefined ? undefined : decodeSession(value, id, now, this.o.legacyTtl);
        if (found) out.set(id, found.guessed ? { ...found.record, expiresAt: Infinity } : found.record);
      }
    }
    return out;
  }

  /** Deletes `ids` from `type` at once; resolves with how many were there. */
  private async remove(type: string, ids: string[]): Promise<number> {
    const bank = this.ready();
    const done = await Promise.all(ids.map((id) => call((cb) => bank.del(type, id, cb), isMissing)));
    return done.filter((d) => d !== NONE).length;
  }

  private async each(now: number, use: (record: SessionRecord) => unknown): Promise<void> {
    await this.scanSessions(now, (found) => {
      if (found.record.expiresAt > now) use(found.record);
    });
  }

  /** Scans the session type; resolves with how many values were not sessions (logged). */
  private async scanSessions(now: number, use: (found: Found) => void): Promise<number> {
    let unreadable = 0;
    await this.scan(this.o.type, (value) => {
      const found = decodeSession(value, undefined, now, this.o.legacyTtl);
      if (found) use(found);
      else unreadable++;
    });
    if (unreadable > 0) {
      this.o.logger.warn({ op: "scan", unreadable }, "values under the session type are not sessions; skipped");
    }
    return unreadable;
  }

  private async scan(type: string, onValue: (value: unknown) => void): Promise<void> {
    const bank = this.ready();
    await call((cb) => bank.scan(type, onValue, cb), isMissing); // some drivers report an empty type as missing
  }

  private unreadable(id: string): null {
    this.o.logger.warn(
      { op: "get", sidHash: idFingerprint(id) },
      "the stored value is not a session; treating it as missing",
    );
    return null;
  }
}

/** A value that exists but is not indexed (connect-databank's, or not a session): a write replaces and indexes it. */
const UNINDEXED: Known = { createdAt: undefined, bucket: Number.NaN, owner: undefined };
