import { call, driverError, eachLimit, isAlreadyExists, isMissing } from "./calls.js";
import type { ChunkedSets } from "./chunked-sets.js";
import type { DatabankLike } from "./databank-shape.js";
import { CURSOR_MARGIN, type ExpiryBuckets } from "./expiry-index.js";
import type { PendingIndex } from "./pending-index.js";
import { type DecodedRecord, decode, keyOf } from "./stored-record.js";

/** Buckets whose counters are read in one `readAll`. */
const WALK = 256;
/** Records read in one `readAll`. */
const READ_SLICE = 500;
/** Deletes in flight at once. */
const DELETE_CONCURRENCY = 64;
/** Ids per chunk the sweep appends. */
const SWEEP_CHUNK = 1000;

export interface CollectorParts {
  bank: DatabankLike;
  type: string;
  metaType: string;
  expiry: ChunkedSets;
  pending: PendingIndex;
  buckets: ExpiryBuckets;
  sweepInterval: number;
  legacyTtl: number;
  /** Deletes one record (in its id's queue); true when it was there. */
  remove(id: string): Promise<boolean>;
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

  /** Deletes what has expired in one bucket (up to `budget`), keeps the rest in it, drops stale entries. */
  private async collectBucket(
    bucket: number,
    now: number,
    budget: number,
    current: number,
  ): Promise<{ deleted: number; leftovers: boolean }> {
    const key = String(bucket);
    const set = await this.p.expiry.read(key);
    const leftovers: string[] = [];
    let deleted = 0;
    let claimed = 0;
    for (let i = 0; i < set.ids.length; i += READ_SLICE) {
      if (claimed >= budget) {
        leftovers.push(...set.ids.slice(i)); // unread: the next batch reads them
        break;
      }
      const slice = set.ids.slice(i, i + READ_SLICE);
      const found = await call<Record<string, unknown>>((cb) => this.p.bank.readAll(this.p.type, slice, cb)).catch(
        (error) => {
          throw driverError(error);
        },
      );
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
      await eachLimit(expired, DELETE_CONCURRENCY, async (id) => {
        if (await this.p.remove(id)) deleted++;
      });
    }
    // Keep before dropping: the leftovers are in a new chunk before the read chunks go.
    if (leftovers.length > 0) await this.p.expiry.append(key, leftovers);
    const finished = leftovers.length === 0 && bucket < current - CURSOR_MARGIN;
    await this.p.expiry.consume(key, set.from, set.upTo, finished);
    return { deleted, leftovers: leftovers.length > 0 };
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
    for (const [key, ids] of toIndex) {
      for (let i = 0; i < ids.length; i += SWEEP_CHUNK) await this.p.expiry.append(key, ids.slice(i, i + SWEEP_CHUNK));
    }
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
