import { call, isTaken, NONE } from "./errors.js";
import type { DatabankLike } from "./index.js";
import { chunkKey } from "./schema.js";

/**
 * Append-only logs of ids over databank, which has no transactions: an append takes a number
 * from an atomic counter (`incr`) and `create`s an immutable chunk `<log>#<n>`, so two appends
 * (from any process) never overwrite each other. Readers delete the chunks they are done with.
 *
 * Appends to one log are group-committed without a timer: while one is being written, later ones
 * wait and go out together as the next chunk. A caller's promise settles once its ids are stored,
 * so nothing is pending when the store closes and nothing is lost if the process dies.
 */
export class Logs {
  /** Per log, the append being written and the ids waiting for the next one. */
  private readonly writing = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, { ids: string[]; done: Promise<void> }>();

  constructor(
    private readonly bank: DatabankLike,
    private readonly type: string,
    /** Runs after each chunk is stored (the expiry index lowers its `lo` here). */
    private readonly stored: (log: string) => Promise<void>,
  ) {}

  append(log: string, ids: readonly string[]): Promise<void> {
    const queued = this.waiting.get(log);
    if (queued) {
      queued.ids.push(...ids);
      return queued.done;
    }
    const busy = this.writing.get(log);
    if (!busy) return this.start(log, [...ids]);
    const batch = { ids: [...ids], done: Promise.resolve() };
    batch.done = busy.then(
      () => this.next(log, batch.ids),
      () => this.next(log, batch.ids),
    );
    this.waiting.set(log, batch);
    return batch.done;
  }

  private next(log: string, ids: string[]): Promise<void> {
    this.waiting.delete(log);
    return this.start(log, ids);
  }

  private start(log: string, ids: string[]): Promise<void> {
    const run = this.write(log, ids);
    this.writing.set(log, run);
    const free = () => {
      if (this.writing.get(log) === run) this.writing.delete(log);
    };
    run.then(free, free);
    return run;
  }

  /** Stores `ids` as one new chunk of `log`, at once (no grouping). */
  async write(log: string, ids: readonly string[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const n = Number(await call<number>((cb) => this.bank.incr(this.type, log, cb)));
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`databank: index counter ${log} is not a count`);
      const key = chunkKey(log, n);
      const made = await call((cb) => this.bank.create(this.type, key, { k: key, ids }, cb), isTaken);
      // Taken: only a driver whose incr is not atomic hands out a number twice. Take the next one.
      if (made !== NONE) break;
      if (attempt >= 8) throw new Error(`databank: no free chunk number in index log ${log}`);
    }
    await this.stored(log);
  }

  /** Reads chunks `from..to` of `log`: per chunk number, its ids (null for a missing or unreadable chunk). */
  async read(log: string, from: number, to: number): Promise<Map<number, string[] | null>> {
    const out = new Map<number, string[] | null>();
    for (let start = from; start <= to; start += 1000) {
      const numbers = range(start, Math.min(to, start + 999));
      const values = await this.readAll(numbers.map((n) => chunkKey(log, n)));
      for (const n of numbers) out.set(n, idsOf(values[chunkKey(log, n)]));
    }
    return out;
  }

  /** Values of `keys` in the index type (null for missing ones). */
  async readAll(keys: string[]): Promise<Record<string, unknown>> {
    if (keys.length === 0) return {};
    const values = await call<Record<string, unknown>>((cb) => this.bank.readAll(this.type, keys, cb));
    return values === NONE || values === null || typeof values !== "object" ? {} : values;
  }
}

/** A chunk's ids, or null when the value is not a chunk. */
function idsOf(value: unknown): string[] | null {
  const ids = (value as { ids?: unknown } | null)?.ids;
  return Array.isArray(ids) && ids.every((id) => typeof id === "string") ? ids : null;
}

/** A stored counter as a count (0 for missing or damaged). */
export function countOf(value: unknown): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
