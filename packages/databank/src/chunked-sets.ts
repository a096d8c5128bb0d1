import { call, driverError, eachLimit, isAlreadyExists, isMissing } from "./calls.js";
import type { DatabankLike } from "./databank-shape.js";

/** How many keys one `readAll` asks for (a single MGET on redis). */
const READ_SLICE = 500;
/** How many deletes are in flight at once. */
const DELETE_CONCURRENCY = 16;
/** How many chunk keys one partial read asks for at a time. */
const CHUNK_PAGE = 32;
/** Most ids `appendAll` puts in one chunk, so a later partial read never has to take a huge one. */
export const CHUNK_IDS = 1000;

/** One set as read: its ids (deduplicated, in append order) and the chunk range they came from. */
export interface ChunkedSet {
  ids: string[];
  /** Chunks `from + 1 .. upTo` were read; `consume(key, from, upTo)` drops exactly those. */
  from: number;
  upTo: number;
}

/**
 * Sets of ids that many processes append to without a lost update, over a store that has no
 * transactions. A set is never rewritten: each append takes a fresh number from an atomic
 * counter (`incr`: INCR on redis, in-process on memory) and `create`s an immutable chunk
 * `<key>.<n>` with its ids. Readers read chunks `floor+1 .. counter`; a reader that has dealt
 * with them deletes them and raises `<key>.floor`. Two appends can therefore never overwrite
 * each other, and a racing reader never drops a chunk it did not read.
 */
export class ChunkedSets {
  constructor(
    private readonly bank: DatabankLike,
    readonly type: string,
  ) {}

  /** Appends `ids` to the set `key` as one new chunk; resolves with the chunk's number. */
  async append(key: string, ids: readonly string[]): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const n = Number(await call<number>((cb) => this.bank.incr(this.type, key, cb)));
      try {
        await call((cb) => this.bank.create(this.type, `${key}.${n}`, { key, ids }, cb));
        return n;
      } catch (error) {
        // Only a driver whose incr is not atomic hands out a number twice: take the next one.
        if (!isAlreadyExists(error) || attempt >= 8) throw driverError(error);
      }
    }
  }

  /** Appends `ids` as chunks of at most CHUNK_IDS ids each (one chunk per piece, in order). */
  async appendAll(key: string, ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK_IDS) await this.append(key, ids.slice(i, i + CHUNK_IDS));
  }

  /** The chunk range of the set `key` not yet consumed: chunks `from + 1 .. upTo`. */
  async head(key: string): Promise<{ from: number; upTo: number }> {
    const floorKey = `${key}.floor`;
    const heads = await this.readMany([key, floorKey]);
    const upTo = toCount(heads[key]);
    return { from: Math.min(toCount(heads[floorKey]), upTo), upTo };
  }

  /** Reads the set `key` (empty when it was never appended to). */
  async read(key: string): Promise<ChunkedSet> {
    const { from, upTo } = await this.head(key);
    return this.readChunks(key, from, upTo, Number.POSITIVE_INFINITY);
  }

  /**
   * Reads chunks `from + 1 ..` of `key` in order, stopping after the chunk that brings the ids
   * read to `wanted` (or at `upTo`). The answer's `upTo` is the last chunk read, so
   * `consume(key, from, answer.upTo)` drops exactly what was read and the rest stays for later.
   */
  async readChunks(key: string, from: number, upTo: number, wanted: number): Promise<ChunkedSet> {
    const ids = new Set<string>();
    let through = from;
    while (through < upTo && ids.size < wanted) {
      const page = Math.min(wanted === Number.POSITIVE_INFINITY ? READ_SLICE : CHUNK_PAGE, upTo - through);
      const chunkKeys = Array.from({ length: page }, (_, i) => `${key}.${through + 1 + i}`);
      const chunks = await this.readMany(chunkKeys);
      for (const chunkKey of chunkKeys) {
        through++;
        const chunkIds = (chunks[chunkKey] as { ids?: unknown } | null | undefined)?.ids;
        if (Array.isArray(chunkIds)) for (const id of chunkIds) if (typeof id === "string") ids.add(id);
        if (ids.size >= wanted) break;
      }
    }
    return { ids: [...ids], from, upTo: through };
  }

  /** Reads many sets' counters and floors at once: the keys whose sets hold unread chunks. */
  async nonEmpty(keys: readonly string[]): Promise<string[]> {
    const heads = await this.readMany(keys.flatMap((key) => [key, `${key}.floor`]));
    return keys.filter((key) => toCount(heads[key]) > toCount(heads[`${key}.floor`]));
  }

  /** Drops chunks `from + 1 .. upTo` of `key`; with `forget`, also its counter (the set is finished for good). */
  async consume(key: string, from: number, upTo: number, forget = false): Promise<void> {
    const chunkKeys = Array.from({ length: upTo - from }, (_, i) => `${key}.${from + 1 + i}`);
    await eachLimit(chunkKeys, DELETE_CONCURRENCY, (chunkKey) => this.remove(chunkKey));
    if (forget) {
      await this.remove(`${key}.floor`);
      await this.remove(key);
    } else if (upTo > from) {
      await call((cb) => this.bank.save(this.type, `${key}.floor`, upTo, cb)).catch(rethrow);
    }
  }

  /** Deletes every chunk found by scanning the type (and the counters they name). For `clear()`. */
  async removeAll(): Promise<void> {
    const keys = new Set<string>();
    await call((cb) =>
      this.bank.scan(
        this.type,
        (value) => {
          const v = value as { key?: unknown; ids?: unknown } | null;
          if (typeof v?.key === "string" && Array.isArray(v.ids)) keys.add(v.key);
        },
        cb,
      ),
    ).catch((error) => {
      if (!isMissing(error)) throw driverError(error); // some drivers report an empty type as missing
    });
    await eachLimit([...keys], DELETE_CONCURRENCY, async (key) => {
      const set = await this.read(key);
      await this.consume(key, 0, set.upTo, true);
    });
  }

  private async readMany(keys: readonly string[]): Promise<Record<string, unknown>> {
    if (keys.length === 0) return {};
    const found = await call<Record<string, unknown>>((cb) => this.bank.readAll(this.type, [...keys], cb)).catch(
      rethrow,
    );
    return found ?? {};
  }

  private async remove(key: string): Promise<void> {
    await call((cb) => this.bank.del(this.type, key, cb)).catch((error) => {
      if (!isMissing(error)) throw driverError(error);
    });
  }
}

function toCount(value: unknown): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

function rethrow(error: unknown): never {
  throw driverError(error);
}
