import { eachLimit } from "./calls.js";
import type { ChunkedSets } from "./chunked-sets.js";

/** How many sets are appended to at once during a flush. */
const FLUSH_CONCURRENCY = 8;

/**
 * The index writes of recent upserts and touches, batched. An upsert resolves once its record
 * is stored (one round trip, as with a raw `save`); its index entries follow within `delayMs`,
 * merged with every other write of that moment into one chunk per set. A failed flush keeps
 * its entries for the next one and is reported by the next `flush()` the adapter awaits (GC,
 * destroyByOwner, close), so nothing is dropped silently; a crash before a flush loses the
 * entries, and the sweep collects such sessions later.
 */
export class PendingIndex {
  /** Ids per set key, in write order. An id written twice in one window is listed twice: readers dedupe. */
  private pending = new Map<string, string[]>();
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly sets: ChunkedSets,
    private readonly delayMs: number,
    /** Called after each chunk appended, with the set's key and the chunk number (owner compaction hooks in here). */
    private readonly appended: (key: string, n: number) => Promise<void> = async () => {},
  ) {}

  add(key: string, id: string): void {
    const ids = this.pending.get(key);
    if (ids) ids.push(id);
    else this.pending.set(key, [id]);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      // Failures stay pending and surface at the next awaited flush(); nothing to do here.
      this.flush().catch(() => {});
    }, this.delayMs).unref();
  }

  get size(): number {
    return this.pending.size;
  }

  /** Writes everything pending now (after any flush under way); rejects if some of it could not be written. */
  flush(): Promise<void> {
    const run = this.chain.then(() => this.flushOnce());
    this.chain = run.catch(() => {});
    return run;
  }

  /** Forgets what is pending (for `clear()`). */
  discard(): void {
    this.pending.clear();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Puts back the ids of a failed append, deduplicated so a long outage can not grow the lists without bound. */
  private keep(key: string, ids: readonly string[]): void {
    const merged = new Set(this.pending.get(key));
    for (const id of ids) merged.add(id);
    this.pending.set(key, [...merged]);
  }

  private async flushOnce(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    await eachLimit([...batch], FLUSH_CONCURRENCY, async ([key, ids]) => {
      try {
        const n = await this.sets.append(key, ids);
        await this.appended(key, n);
      } catch (error) {
        // Kept for the next flush, which the next write or GC run starts: no busy retry while the store is down.
        this.keep(key, ids);
        throw error;
      }
    });
  }
}
