import type { BackendCapabilities, SessionBackend, SessionRecord } from "@sessionkit/core";
import { BankQueue, BUSY } from "./bank-queue.js";
import { call, callThen, driverError, eachLimit, isAlreadyExists, isMissing } from "./calls.js";
import { ChunkedSets } from "./chunked-sets.js";
import { Collector } from "./collector.js";
import type { DatabankLike, DatabankSpec } from "./databank-shape.js";
import { ExpiryBuckets } from "./expiry-index.js";
import type { ResolvedOptions } from "./options.js";
import { type OwnedBank, openBank } from "./owned-bank.js";
import { PendingIndex } from "./pending-index.js";
import { decode, isReservedId, keyOf, toRecord, toStored } from "./stored-record.js";

/** Records read in one `readAll`. */
const READ_SLICE = 500;
/** Deletes in flight at once. */
const DELETE_CONCURRENCY = 16;
/** Every this many chunks appended to one owner's set, the set is compacted (stale ids dropped). */
const OWNER_COMPACT_EVERY = 16;

/** Everything that exists once a bank is at hand (after `init()`). */
interface Ready {
  bank: DatabankLike;
  expiry: ChunkedSets;
  owners: ChunkedSets;
  pendingExpiry: PendingIndex;
  pendingOwners: PendingIndex;
  collector: Collector;
}

export class DatabankBackend implements SessionBackend {
  readonly name: string;
  readonly capabilities: BackendCapabilities = { owners: true };
  private readonly queue = new BankQueue();
  private readonly buckets: ExpiryBuckets;
  private ready: Ready | undefined;
  private owned: OwnedBank | undefined;
  private initializing: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly source: { bank: DatabankLike } | { spec: DatabankSpec },
    private readonly o: ResolvedOptions,
  ) {
    this.name = "spec" in source ? `databank:${source.spec.driver}` : "databank";
    this.buckets = new ExpiryBuckets(o.bucketMs);
  }

  init(): Promise<void> {
    this.initializing ??= this.start().catch((error: unknown) => {
      this.initializing = undefined; // the next call tries again
      throw error;
    });
    return this.initializing;
  }

  // get, upsert and destroy are the request path: plain functions around one databank call
  // each (callThen / queue.call), so they cost about what a bare call costs. They never throw:
  // a failure before the call is a rejected promise.

  get(id: string): Promise<SessionRecord | null> {
    if (isReservedId(id)) return Promise.resolve(null);
    const ready = this.ready;
    if (!ready) return Promise.reject(notReady());
    return callThen(
      (cb) => ready.bank.read(this.o.type, id, cb),
      (error, value) => {
        if (error) {
          if (isMissing(error)) return null;
          throw driverError(error);
        }
        return value === null ? null : toRecord(id, value, Date.now(), this.o.legacyTtl);
      },
    );
  }

  upsert(record: SessionRecord): Promise<void> {
    const { id } = record;
    if (isReservedId(id)) return Promise.reject(new RangeError(`databank: the session id "${id}" is reserved`));
    const ready = this.ready;
    if (!ready) return Promise.reject(notReady());
    const value = toStored(record);
    return this.queue.call(
      id,
      (cb) => ready.bank.save(this.o.type, id, value, cb),
      (error): void | Promise<void> => {
        if (!error) return this.indexWrite(ready, record);
        // A save that lost a create race to another creator: retried (the key stays held meanwhile).
        if (isAlreadyExists(error))
          return this.write(ready.bank, id, value, 1).then(() => this.indexWrite(ready, record));
        throw driverError(error);
      },
    );
  }

  /** Lists a stored record in the expiry index (and its owner's set): batched, written within `indexDelay`. */
  private indexWrite(ready: Ready, record: SessionRecord): void {
    ready.pendingExpiry.add(this.buckets.indexKey(record.expiresAt), record.id);
    if (record.owner !== null) ready.pendingOwners.add(ownerKey(record.owner), record.id);
  }

  async touch(id: string, expiresAt: number, now: number): Promise<void> {
    if (isReservedId(id)) return;
    const { bank, pendingExpiry } = this.parts();
    await this.queue.run(id, async () => {
      const value = await this.read(bank, id);
      if (value === null) return; // missing: nothing to move, nothing created
      const record = decode(id, value, now, this.o.legacyTtl);
      // Expired at `now` (ours by expiresAt, legacy by cookie.expires): a late touch never revives it.
      if (record.expiresAt <= now) return;
      // No partial update in databank: the record is rewritten with its payload unchanged.
      await this.write(bank, id, toStored({ ...record, expiresAt }));
      const moved = this.buckets.bucketOf(record.expiresAt) !== this.buckets.bucketOf(expiresAt);
      if (moved || record.legacy) pendingExpiry.add(this.buckets.indexKey(expiresAt), id);
    });
  }

  destroy(id: string): Promise<void> {
    if (isReservedId(id)) return Promise.resolve();
    const ready = this.ready;
    if (!ready) return Promise.reject(notReady());
    return this.queue.call(
      id,
      (cb) => ready.bank.del(this.o.type, id, cb),
      (error) => {
        if (error && !isMissing(error)) throw driverError(error);
      },
    );
  }

  async destroyByOwner(owner: string): Promise<number> {
    const { bank, owners, pendingOwners } = this.parts();
    await pendingOwners.flush();
    const key = ownerKey(owner);
    const set = await owners.read(key);
    const mine = await this.withOwner(bank, set.ids, owner);
    let deleted = 0;
    await eachLimit(mine, DELETE_CONCURRENCY, async (id) => {
      if (await this.remove(bank, id)) deleted++;
    });
    await owners.consume(key, set.from, set.upTo);
    return deleted;
  }

  async clear(): Promise<void> {
    const { bank, expiry, owners, pendingExpiry, pendingOwners } = this.parts();
    pendingExpiry.discard();
    pendingOwners.discard();
    const ids: string[] = [];
    await this.scan(bank, (value) => {
      const id = keyOf(value);
      if (id !== undefined) ids.push(id);
    });
    await eachLimit(ids, DELETE_CONCURRENCY, async (id) => {
      await this.remove(bank, id);
    });
    await expiry.removeAll();
    await owners.removeAll();
  }

  deleteExpired(now: number, limit: number): Promise<number> {
    return this.parts().collector.deleteExpired(now, limit);
  }

  async count(now: number): Promise<number> {
    let live = 0;
    await this.scan(this.parts().bank, (value) => {
      const id = keyOf(value);
      if (id !== undefined && decode(id, value, now, this.o.legacyTtl).expiresAt > now) live++;
    });
    return live;
  }

  async *stream(now: number): AsyncIterable<SessionRecord> {
    // Databank's scan pushes every record and cannot be paused: they are gathered, then yielded.
    const records: SessionRecord[] = [];
    await this.scan(this.parts().bank, (value) => {
      const id = keyOf(value);
      if (id === undefined) return;
      const record = toRecord(id, value, now, this.o.legacyTtl);
      if (record.expiresAt > now) records.push(record);
    });
    yield* records;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async start(): Promise<void> {
    if (this.closing) throw new Error("databank: init() after close()");
    let bank: DatabankLike;
    if ("spec" in this.source) {
      this.owned = await openBank(this.source.spec);
      bank = this.owned.bank;
    } else {
      bank = this.source.bank;
    }
    const { type, indexDelay, sweepInterval, legacyTtl } = this.o;
    const expiry = new ChunkedSets(bank, `${type}_expiry`);
    const owners = new ChunkedSets(bank, `${type}_owner`);
    const pendingExpiry = new PendingIndex(expiry, indexDelay);
    const pendingOwners = new PendingIndex(owners, indexDelay, async (key, n) => {
      if (n % OWNER_COMPACT_EVERY === 0) await this.compactOwner(bank, owners, key);
    });
    const collector = new Collector({
      bank,
      type,
      metaType: `${type}_meta`,
      expiry,
      pending: pendingExpiry,
      buckets: this.buckets,
      sweepInterval,
      legacyTtl,
      removeIdle: (ids) => this.removeIdle(bank, ids),
      adopt: (record, expiresAt) =>
        this.queue.run(record.id, () => this.write(bank, record.id, toStored({ ...record, expiresAt }))),
    });
    try {
      await collector.prepare();
    } catch (error) {
      await this.owned?.close();
      this.owned = undefined;
      throw error;
    }
    this.ready = { bank, expiry, owners, pendingExpiry, pendingOwners, collector };
  }

  private async shutDown(): Promise<void> {
    await this.initializing?.catch(() => {});
    const ready = this.ready;
    let failure: unknown;
    if (ready) {
      ready.pendingExpiry.stop();
      ready.pendingOwners.stop();
      // Index entries still pending are written before the bank goes; a failure is reported below.
      await Promise.all([ready.pendingExpiry.flush(), ready.pendingOwners.flush()]).catch((error: unknown) => {
        failure = error;
      });
    }
    await this.owned?.close(); // only a bank this adapter created
    if (failure !== undefined) throw failure;
  }

  private parts(): Ready {
    if (!this.ready) throw notReady();
    return this.ready;
  }

  /** Drops ids no longer owned by `owner` (destroyed, expired, re-owned) from its set. */
  private async compactOwner(bank: DatabankLike, owners: ChunkedSets, key: string): Promise<void> {
    const owner = key.slice(2);
    const set = await owners.read(key);
    const kept = await this.withOwner(bank, set.ids, owner);
    if (kept.length > 0) await owners.append(key, kept);
    await owners.consume(key, set.from, set.upTo);
  }

  /** The ids among `ids` whose record exists and belongs to `owner`. */
  private async withOwner(bank: DatabankLike, ids: readonly string[], owner: string): Promise<string[]> {
    const mine: string[] = [];
    for (let i = 0; i < ids.length; i += READ_SLICE) {
      const slice = ids.slice(i, i + READ_SLICE);
      const found = await call<Record<string, unknown>>((cb) => bank.readAll(this.o.type, slice, cb)).catch(rethrow);
      for (const id of slice) {
        const value = found?.[id];
        if (value !== null && value !== undefined && decode(id, value, 0, 1).owner === owner) mine.push(id);
      }
    }
    return mine;
  }

  private async read(bank: DatabankLike, id: string): Promise<unknown> {
    try {
      return await call((cb) => bank.read(this.o.type, id, cb));
    } catch (error) {
      if (isMissing(error)) return null;
      throw driverError(error);
    }
  }

  /** Insert or replace. `save` is update-else-create; a create that loses a race to another creator is retried. */
  private write(bank: DatabankLike, id: string, value: object, attempt = 0): Promise<void> {
    return callThen(
      (cb) => bank.save(this.o.type, id, value, cb),
      (error): void | Promise<void> => {
        if (!error) return;
        if (isAlreadyExists(error) && attempt < 3) return this.write(bank, id, value, attempt + 1);
        throw driverError(error);
      },
    );
  }

  /** Deletes one record in its id's queue; true when it was there. */
  private remove(bank: DatabankLike, id: string): Promise<boolean> {
    return this.queue.call(
      id,
      (cb) => bank.del(this.o.type, id, cb),
      (error) => {
        if (!error) return true;
        if (isMissing(error)) return false;
        throw driverError(error);
      },
    );
  }

  /**
   * Deletes the records of `ids` that nothing in this process is writing, all at once: answers
   * how many were there and the ids left alone. Rejects with the first driver failure, after
   * every delete has called back.
   */
  private async removeIdle(bank: DatabankLike, ids: readonly string[]): Promise<{ deleted: number; busy: string[] }> {
    const outcomes = await this.queue.callEachIdle(ids, (id, cb) => bank.del(this.o.type, id, cb));
    let deleted = 0;
    const busy: string[] = [];
    let failure: unknown;
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome === null) deleted++;
      else if (outcome === BUSY) busy.push(ids[i] as string);
      else if (!isMissing(outcome)) failure ??= outcome;
    }
    if (failure !== undefined) throw driverError(failure);
    return { deleted, busy };
  }

  private async scan(bank: DatabankLike, onValue: (value: unknown) => void): Promise<void> {
    await call((cb) => bank.scan(this.o.type, onValue, cb)).catch((error) => {
      if (!isMissing(error)) throw driverError(error); // some drivers report an empty type as missing
    });
  }
}

/** Owner keys get a prefix so no owner id can name an Object.prototype member (see isReservedId). */
function ownerKey(owner: string): string {
  return `o:${owner}`;
}

function notReady(): Error {
  return new Error("databank: init() has not completed");
}

function rethrow(error: unknown): never {
  throw driverError(error);
}
