import type { Bank } from "./errors.js";

/** Keys of the index type. The owner's length prefix keeps every owner's keys apart, whatever it contains. */
export const LO = "lo";
export const bucketLog = (bucket: number) => `x:${bucket}`;
export const ownerLog = (owner: string) => `o:${owner.length}:${owner}`;
const chunkKey = (log: string, n: number) => `${log}#${n}`;
const floorKey = (log: string) => `${log}#f`;
/** The most ids appends joined into one chunk take. */
const BATCH = 1000;
type Batch = { ids: string[]; stored: Promise<void> };

/** A stored counter as a count (0 when missing or damaged). */
export const countOf = (value: unknown): number =>
  Number.isSafeInteger(Number(value)) ? Math.max(0, Number(value)) : 0;
/** The integers `from..to`. */
export const range = (from: number, to: number) =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/**
 * The indexes: append-only logs of ids, over a store without transactions. An append takes a
 * number from an atomic counter (`incr`) and `create`s an immutable chunk `<log>#<n>` =
 * `{ k, ids }`, so no two appends (from any process) overwrite each other; readers delete the
 * chunks they are done with. An append settles once its chunk is stored: nothing is pending at
 * close, and nothing is lost if the process dies.
 *
 * - The expiry index: a log per time bucket (`x:<bucket>`), and `lo`, the lowest bucket that may
 *   hold entries, where GC starts.
 * - An owner index: a log per owner (`o:<length>:<owner>`), whose floor `<log>#f` = `{ k, f }`
 *   marks the chunks already rewritten.
 */
export class Logs {
  constructor(
    private readonly bank: Bank,
    readonly type: string,
  ) {}

  /** Per log, the append still waiting for its chunk number: later ids join it. */
  private readonly open = new Map<string, Batch>();

  /**
   * Appends `ids` to `log`; settles once a chunk holding them is stored. Appends to one log made
   * in the same turn of the event loop, while an earlier one still waits for its number from
   * `incr`, join it (up to BATCH ids): one `incr` and one chunk for all of them, each caller
   * settling (or failing) with that chunk. The next turn joins no more: a driver that never
   * answers holds up only the writes of one turn, as it would have without joining.
   */
  append(log: string, ids: readonly string[]): Promise<void> {
    const joined = this.open.get(log);
    if (joined && joined.ids.length + ids.length <= BATCH) {
      joined.ids.push(...ids);
      return joined.stored;
    }
    const batch = { ids: [...ids] } as Batch;
    if (this.open.size === 0) setImmediate(() => this.open.clear());
    this.open.set(log, batch);
    batch.stored = this.store(log, batch);
    return batch.stored;
  }

  private async store(log: string, batch: Batch): Promise<void> {
    // An owner's log is named after the owner, which no error text carries.
    const name = log.startsWith("x:") ? `the expiry index's log ${log}` : "an owner's index log";
    const bucket = log.startsWith("x:") ? Number(log.slice(2)) : undefined;
    for (let attempt = 0; ; attempt++) {
      let n: number;
      try {
        n = await this.bank.incr(this.type, log);
      } finally {
        if (this.open.get(log) === batch) this.open.delete(log); // numbered (or failed): no one joins it now
      }
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`databank: the counter of ${name} is not a count`);
      const chunk = chunkKey(log, n);
      const lowered = attempt === 0 && bucket !== undefined ? this.lowerLo(bucket) : undefined;
      const [made] = await Promise.all([this.bank.create(this.type, chunk, { k: chunk, ids: batch.ids }), lowered]);
      if (made) break;
      // Taken: only a driver whose incr is not atomic hands a number out twice. Take the next.
      if (attempt >= 8) throw new Error(`databank: no free chunk number in ${name}`);
    }
  }

  /** Chunks `from..to` of `log`: per number, its ids, or null for a missing chunk (or a value that isn't one). */
  async read(log: string, from: number, to: number): Promise<Array<[number, string[] | null]>> {
    const chunks: Array<[number, string[] | null]> = [];
    for (let first = from; first <= to; first += 1000) {
      const numbers = range(first, Math.min(to, first + 999));
      const values = await this.bank.readAll(
        this.type,
        numbers.map((n) => chunkKey(log, n)),
      );
      for (const n of numbers) {
        const ids = (values[chunkKey(log, n)] as { ids?: unknown } | null)?.ids;
        chunks.push([n, Array.isArray(ids) && ids.every((id) => typeof id === "string") ? ids : null]);
      }
    }
    return chunks;
  }

  /** Deletes chunk `n` of `log` (or, without `n`, its counter). */
  drop = (log: string, n?: number) => this.bank.del(this.type, n === undefined ? log : chunkKey(log, n));

  /** An owner's log from its floor: its ids, the chunks read, and the floor they allow. */
  async owned(owner: string) {
    const log = ownerLog(owner);
    const head = await this.bank.readAll(this.type, [log, floorKey(log)]);
    const floor = Math.max(1, countOf((head[floorKey(log)] as { f?: unknown } | null)?.f));
    const chunks = await this.read(log, floor, countOf(head[log]));
    // The floor never passes a missing chunk: an append may still be writing it.
    const next = chunks.find(([, ids]) => ids === null)?.[0] ?? floor + chunks.length;
    const read = chunks.filter(([, ids]) => ids !== null).map(([n]) => n);
    return { log, floor, next, read, ids: [...new Set(chunks.flatMap(([, ids]) => ids ?? []))] };
  }

  /** Replaces the chunks of an owner's log that `owned` read by one holding `keep`, and moves the floor. */
  async rewrite(entries: Awaited<ReturnType<Logs["owned"]>>, keep: string[]): Promise<void> {
    const { log, next } = entries;
    if (keep.length > 0) await this.append(log, keep);
    // Chunks above the floor's stop are emptied, not deleted, so that a later floor passes them.
    const empty = (n: number) => this.bank.save(this.type, chunkKey(log, n), { k: chunkKey(log, n), ids: [] });
    await Promise.all(entries.read.map((n) => (n < next ? this.drop(log, n) : empty(n))));
    if (next > entries.floor) await this.bank.save(this.type, floorKey(log), { k: floorKey(log), f: next });
  }

  /**
   * Lowers `lo` to a bucket just written to, when it is below: GC starts there. Called once the
   * bucket's counter has counted the append, alongside the chunk's `create`: a GC run that passed
   * the bucket before the `incr` (found no counter, raised `lo` over it) is seen by this read
   * wherever the create lands, and one between the `incr` and the create deletes the counter, so
   * reading `lo` after the create would not save that entry either. Only a GC whose clock has the
   * bucket in the past passes it (see the README's Limitations).
   */
  private async lowerLo(bucket: number): Promise<void> {
    const lo = await this.bank.read(this.type, LO);
    if (lo === undefined && !(await this.bank.create(this.type, LO, bucket))) return this.lowerLo(bucket);
    if (lo !== undefined && !(Number(lo) <= bucket)) await this.bank.save(this.type, LO, bucket);
  }
}
