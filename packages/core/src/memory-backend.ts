import type { SessionBackend, SessionRecord } from "./backend.js";
import { configError } from "./errors.js";

/** Options of `memoryBackend`. */
export interface MemoryBackendOptions {
  /**
   * Width of the expiry index's time buckets, in ms. GC visits only buckets that have started
   * to expire, so its cost follows the expired sessions, not all of them. Default: 60000.
   */
  bucketMs?: number;
}

/**
 * The reference backend: sessions in a Map of this process, with an expiry index in time
 * buckets and an owner index. Good for development, tests and single-process apps; sessions
 * are lost when the process exits. Bounded by expiry: collected sessions leave no trace.
 */
export function memoryBackend(options: MemoryBackendOptions = {}): SessionBackend {
  return new MemoryBackend(options.bucketMs ?? 60_000);
}

class MemoryBackend implements SessionBackend {
  readonly name = "memory";
  private readonly records = new Map<string, SessionRecord>();
  /** bucket number (floor(expiresAt / bucketMs)) -> ids expiring in it */
  private readonly buckets = new Map<number, Set<string>>();
  private readonly owners = new Map<string, Set<string>>();

  constructor(private readonly bucketMs: number) {
    if (!Number.isSafeInteger(bucketMs) || bucketMs <= 0) {
      throw configError("bucketMs", `must be a positive integer, got ${bucketMs}`);
    }
  }

  async init(): Promise<void> {}

  async get(id: string): Promise<SessionRecord | null> {
    return this.records.get(id) ?? null;
  }

  async upsert(record: SessionRecord): Promise<void> {
    const previous = this.records.get(record.id);
    const stored: SessionRecord = {
      id: record.id,
      payload: record.payload,
      expiresAt: record.expiresAt,
      owner: record.owner,
    };
    this.records.set(record.id, stored);
    // Most writes keep the session in its bucket and owner: leave the indexes alone then.
    if (previous && this.sameIndexEntries(previous, stored)) return;
    if (previous) this.unindex(previous);
    this.index(stored);
  }

  async touch(id: string, expiresAt: number, now: number): Promise<void> {
    const previous = this.records.get(id);
    if (!previous || previous.expiresAt <= now) return; // never revive an expired session
    this.records.set(id, { ...previous, expiresAt });
    if (this.bucketOf(previous.expiresAt) === this.bucketOf(expiresAt)) return;
    this.removeFrom(this.buckets, this.bucketOf(previous.expiresAt), id);
    this.addTo(this.buckets, this.bucketOf(expiresAt), id);
  }

  async destroy(id: string): Promise<void> {
    const previous = this.records.get(id);
    if (!previous) return;
    this.records.delete(id);
    this.unindex(previous);
  }

  async destroyByOwner(owner: string): Promise<number> {
    const ids = [...(this.owners.get(owner) ?? [])];
    for (const id of ids) await this.destroy(id);
    return ids.length;
  }

  async clear(): Promise<void> {
    this.records.clear();
    this.buckets.clear();
    this.owners.clear();
  }

  async deleteExpired(now: number, limit: number): Promise<number> {
    const due = [...this.buckets.keys()].filter((bucket) => bucket <= this.bucketOf(now)).sort((a, b) => a - b);
    let deleted = 0;
    for (const bucket of due) {
      for (const id of this.buckets.get(bucket) ?? []) {
        if (deleted >= limit) return deleted;
        const record = this.records.get(id);
        if (record && record.expiresAt <= now) {
          await this.destroy(id);
          deleted++;
        }
      }
    }
    return deleted;
  }

  async count(now: number): Promise<number> {
    let live = 0;
    for (const record of this.records.values()) if (record.expiresAt > now) live++;
    return live;
  }

  async *stream(now: number): AsyncIterable<SessionRecord> {
    for (const record of [...this.records.values()]) if (record.expiresAt > now) yield record;
  }

  async close(): Promise<void> {}

  private bucketOf(expiresAt: number): number {
    return Math.floor(expiresAt / this.bucketMs);
  }

  private sameIndexEntries(a: SessionRecord, b: SessionRecord): boolean {
    return a.owner === b.owner && this.bucketOf(a.expiresAt) === this.bucketOf(b.expiresAt);
  }

  private index(record: SessionRecord): void {
    this.addTo(this.buckets, this.bucketOf(record.expiresAt), record.id);
    if (record.owner !== null) this.addTo(this.owners, record.owner, record.id);
  }

  private unindex(record: SessionRecord): void {
    this.removeFrom(this.buckets, this.bucketOf(record.expiresAt), record.id);
    if (record.owner !== null) this.removeFrom(this.owners, record.owner, record.id);
  }

  private addTo<K>(index: Map<K, Set<string>>, key: K, id: string): void {
    const ids = index.get(key);
    if (ids) ids.add(id);
    else index.set(key, new Set([id]));
  }

  private removeFrom<K>(index: Map<K, Set<string>>, key: K, id: string): void {
    const ids = index.get(key);
    if (!ids) return;
    ids.delete(id);
    if (ids.size === 0) index.delete(key); // no empty buckets left behind: no leak
  }
}
