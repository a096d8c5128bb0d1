import type { Bank } from "./errors.js";

/** Keys of the index type. The owner's length prefix keeps every owner's keys apart, whatever it contains. */
export const LO = "lo";
export const bucketLog = (bucket: number) => `x:${bucket}`;
export const ownerLog = (owner: string) => `o:${owner.length}:${owner}`;
const chunkKey = (log: string, n: number) => `${log}#${n}`;
const floorKey = (log: string) => `${log}#f`;

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

  async append(log: string, ids: readonly string[]): Promise<void> {
    // An owner's log is named after the owner, which no error text carries.
    const name = log.startsWith("x:") ? `the expiry index's log ${log}` : "an owner's index log";
    for (let attempt = 0; ; attempt++) {
      const n = await this.bank.incr(this.type, log);
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`databank: the counter of ${name} is not a count`);
      // Taken: only a driver whose incr is not atomic hands a number out twice. Take the next.
      if (await this.bank.create(this.type, chunkKey(log, n), { k: chunkKey(log, n), ids })) break;
      if (attempt >= 8) throw new Error(`databank: no free chunk number in ${name}`);
    }
    if (log.startsWith("x:")) await this.lowerLo(Number(log.slice(2)));
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

  /** Lowers `lo` to a bucket just written to, when it is below: GC starts there. */
  private async lowerLo(bucket: number): Promise<void> {
    const lo = await this.bank.read(this.type, LO);
    if (lo === undefined && !(await this.bank.create(this.type, LO, bucket))) return this.lowerLo(bucket);
    if (lo !== undefined && !(Number(lo) <= bucket)) await this.bank.save(this.type, LO, bucket);
  }
}
