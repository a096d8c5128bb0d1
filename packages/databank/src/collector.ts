import { call, driverError, isAlreadyExists, isMissing } from "./calls.js";
import type { ChunkedSets } from "./chunked-sets.js";
import type { DatabankLike } from "./databank-shape.js";
import { CURSOR_MARGIN, type ExpiryBuckets } from "./expiry-index.js";
import type { PendingIndex } from "./pending-index.js";
import { type DecodedRecord, decode, keyOf } from "./stored-record.js";

/** Buckets whose counters are read in one `readAll`. */
const WALK = 256;
/** Records read in one `readAll` (node_redis 0.10 re-parses a partial reply per packet: keep replies small). */
const READ_SLICE = 100;
/** `readAll` calls in flight at once during GC. */
const READ_CONCURRENCY = 4;

export interface CollectorParts {
  bank: DatabankLike;
  type: string;
  metaType: string;
  expiry: ChunkedSets;
  pending: PendingIndex;
  buckets: ExpiryBuckets;
  sweepInterval: number;
  legacyTtl: number;
  /** Deletes the records of `ids` that nothing in this process is writing; how many were there, and the busy ids. */
  removeIdle(ids: readonly string[]): Promise<{ deleted: number; busy: string[] }>;
  /** Rewrites a legacy record without an expiry in sessionkit's format, expiring at `expiresAt`. */
  adopt(record: DecodedRecord, expiresAt: number): Promise<void>;
}

/**
 * Garbage collection over the expiry index. Records are indexed by expiry bucket
 * (floor(expiresAt / bucketMs)); GC walks buckets from a stored cursor up to now, so a run
 * reads only the buckets that have begun to expire and the records listed in them. Every
 * record is checked against its current expiry before it is deleted, so a stale entry (the
 * session was touched or rewritten since) never deletes a live session.
 */
export class Collector {
  constructor(private readonly p: CollectorParts) {}

  /** Creates the cursor if there is none yet (idempotent, safe when processes start together). */
  async prepare(): Promise<void> {
    const start = this.p.buckets.bucketOf(Date.now()) - CURSOR_MARGIN;
    await call((cb) => this.p.bank.create(this.p.metaType, "cursor", { bucket: start }, cb)).catch((error) => {
      if (!isAlreadyExists(error)) throw driverError(error);
    });
  }

  async deleteExpired(now: number, limit: number): Promise<number> {
    await this.p.pending.flush();
    if (await this.sweepIfDue(now)) await this.p.pending.flush();
    const cursor = await this.readCursor();
    const current = this.p.buckets.bucketOf(Date.now());
    // Up to the later of `now` and the clock: entries of already expired records sit in the current bucket.
    const last = Math.max(this.p.buckets.bucketOf(now), current);
    let deleted = 0;
    let open: number | undefined; // the first bucket that may still hold entries
    for (let start = cursor; start <= last && open === undefined; start += WALK) {
      const keys = Array.from({ length: Math.min(WALK, last - start + 1) }, (_, i) => String(start + i));
      for (const key of await this.p.expiry.nonEmpty(keys)) {
        const bucket = Number(key);
        if (deleted >= limit) {
          open = bucket;
          break;
        }
        const result = await this.collectBucket(bucket, now, limit - deleted, current);
        deleted += result.deleted;
        if (result.leftovers) open ??= bucket;
      }
    }
    const next = Math.min(open ?? last + 1, current - CURSOR_MARGIN);
    if (next > cursor) await this.save("cursor", { bucket: next });
    return deleted;
  }

  /**
   * Deletes what has expired in one bucket (up to `budget`), keeps the rest in it, drops stale
   * entries. The bucket's chunks are taken in order, only as many as the budget needs; the
   * chunks read are dropped once what they still list is appended again.
   */
  private async collectBucket(
    bucket: number,
    now: number,
    budget: number,
    current: number,
  ): Promise<{ deleted: number; leftovers: boolean }> {
    const key = String(bucket);
    let { from: at, upTo } = await this.p.expiry.head(key);
    let deleted = 0;
    let kept = false;
    while (at < upTo && deleted < budget) {
      const set = await this.p.expiry.readChunks(key, at, upTo, budget - deleted);
      const result = await this.checkAndDelete(set.ids, bucket, now, budget - deleted);
      deleted += result.deleted;
      // Keep before dropping: the leftovers are in new chunks before the read chunks go.
      if (result.leftovers.length > 0) await this.p.expiry.appendAll(key, result.leftovers);
      await this.p.expiry.consume(key, at, set.upTo);
      kept ||= result.leftovers.length > 0;
      at = set.upTo;
    }
    const leftovers = kept || at < upTo;
    // A bucket wholly in the past with nothing left is finished for good: its counter goes too.
    if (!leftovers && bucket < current - CURSOR_MARGIN) await this.p.expiry.consume(key, at, at, true);
    return { deleted, leftovers };
  }

  /**
   * Reads the records listed (READ_CONCURRENCY slices in flight), deletes the expired ones
   * (up to `budget`; a slice's deletes all at once) and answers the ids to keep listed: live
   * ones still due in this bucket, expired ones over the budget or never read, and expired ones
   * that this process is writing right now. A slice is only started while it can still find
   * something within the budget, so a batch reads little more than it may delete. Each record
   * is checked against its current expiry right before its delete is issued: a stale entry
   * never deletes a live session.
   */
  private async checkAndDelete(
    ids: readonly string[],
    bucket: number,
    now: number,
    budget: number,
  ): Promise<{ deleted: number; leftovers: string[] }> {
    const leftovers: string[] = [];
    let next = 0;
    let claimed = 0; // expired records given a delete (never more than budget)
    let reading = 0; // ids read but not yet classified
    let deleted = 0;
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      while (next < ids.length && claimed + reading < budget && !failure) {
        const size = Math.min(READ_SLICE, budget - claimed - reading, ids.length - next);
        const slice = ids.slice(next, next + size);
        next += size;
        reading += size;
        let found: Record<string, unknown> | undefined;
        try {
          found = await call<Record<string, unknown>>((cb) => this.p.bank.readAll(this.p.type, slice, cb));
        } catch (error) {
          failure ??= { error: driverError(error) };
        } finally {
          reading -= size;
        }
        if (failure) return; // nothing is consumed: every entry of this run stays listed
        const expired: string[] = [];
        for (const id of slice) {
          const value = found?.[id];
          if (value === null || value === undefined) continue; // gone: drop the entry
          const record = decode(id, value, now, this.p.legacyTtl);
          if (record.expiresAt <= now) {
            if (claimed < budget) {
              expired.push(id);
              claimed++;
            } else leftovers.push(id); // over budget: the next batch takes it
          } else if (!record.guessedExpiry && this.p.buckets.bucketOf(record.expiresAt) <= bucket) {
            leftovers.push(id); // live, and this is still its bucket
          }
          // else: live and moved to a later bucket by a touch or upsert, which indexed it there
        }
        if (expired.length === 0) continue;
        try {
          const removed = await this.p.removeIdle(expired);
          deleted += removed.deleted;
          // Being written in this process right now: the next run checks it again.
          leftovers.push(...removed.busy);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: READ_CONCURRENCY }, worker));
    if (failure) throw failure.error;
    leftovers.push(...ids.slice(next)); // unread: the next batch reads them
    return { deleted, leftovers };
  }

  /**
   * Once per `sweepInterval` (shared by all processes through a marker record), scans the whole
   * session type and indexes what the index does not know for sure: expired records (a lost
   * entry, a crash between write and index), connect-databank's records, and legacy records
   * without an expiry, which it rewrites to expire `legacyTtl` from now.
   */
  private async sweepIfDue(now: number): Promise<boolean> {
    if (this.p.sweepInterval === 0) return false;
    const clock = Date.now();
    const marker = await this.read("sweep");
    const at = (marker as { at?: unknown } | null)?.at;
    if (typeof at === "number" && clock - at < this.p.sweepInterval && at <= clock) return false;
    await this.save("sweep", { at: clock });
    const toIndex = new Map<string, string[]>();
    const adopt: DecodedRecord[] = [];
    const add = (bucket: number, id: string) => {
      const key = String(bucket);
      const ids = toIndex.get(key);
      if (ids) ids.push(id);
      else toIndex.set(key, [id]);
    };
    await call((cb) =>
      this.p.bank.scan(
        this.p.type,
        (value) => {
          const id = keyOf(value);
          if (id === undefined) return;
          const record = decode(id, value, now, this.p.legacyTtl);
          if (record.guessedExpiry) adopt.push(record);
          else if (record.expiresAt <= now || record.legacy) add(this.p.buckets.indexBucket(record.expiresAt), id);
        },
        cb,
      ),
    ).catch((error) => {
      if (!isMissing(error)) throw driverError(error);
    });
    for (const record of adopt) {
      const expiresAt = clock + this.p.legacyTtl;
      await this.p.adopt(record, expiresAt);
      add(this.p.buckets.indexBucket(expiresAt), record.id);
    }
    for (const [key, ids] of toIndex) await this.p.expiry.appendAll(key, ids);
    return true;
  }

  private async readCursor(): Promise<number> {
    const value = await this.read("cursor");
    const bucket = (value as { bucket?: unknown } | null)?.bucket;
    // No cursor (deleted behind our back): start near now; the sweep finds anything older.
    return typeof bucket === "number" && Number.isSafeInteger(bucket)
      ? bucket
      : this.p.buckets.bucketOf(Date.now()) - CURSOR_MARGIN;
  }

  private async read(key: string): Promise<unknown> {
    try {
      return await call((cb) => this.p.bank.read(this.p.metaType, key, cb));
    } catch (error) {
      if (isMissing(error)) return null;
      throw driverError(error);
    }
  }

  private async save(key: string, value: object): Promise<void> {
    await call((cb) => this.p.bank.save(this.p.metaType, key, value, cb)).catch((error) => {
      throw driverError(error);
    });
  }
}
