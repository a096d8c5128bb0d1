import type { OwnerDestroy, SessionBackend, SessionRecord, SessionTouch, SessionWrite, Tombstone } from "./backend.js";
import { readOptions, rules } from "./kit/options.js";
import { cappedExpiry } from "./kit/records.js";

/** Options of `memoryBackend`. */
export interface MemoryBackendOptions {
  /**
   * Width of the expiry index's time buckets, in ms. GC visits only buckets that have started
   * to expire, so its cost follows the expired sessions, not all of them. Default: 60000.
   */
  bucketMs?: number;
}

/** A stored entry: a session, or a tombstone (payload null) until `expiresAt`. */
interface Entry {
  payload: string | null;
  expiresAt: number;
  owner: string | null;
  createdAt: number;
  lastActiveAt: number;
}

/**
 * The reference backend: sessions in a Map of this process, with an expiry index in time
 * buckets and an owner index. Good for development, tests and single-process apps; sessions
 * are lost when the process exits. Bounded by expiry: collected sessions and tombstones leave
 * no trace.
 */
export function memoryBackend(options?: MemoryBackendOptions): SessionBackend {
  const { bucketMs } = readOptions("memoryBackend", options, {
    bucketMs: rules.integer(60_000, { min: 1 }),
  });
  return new MemoryBackend(bucketMs);
}

class MemoryBackend implements SessionBackend {
  readonly name = "memory";
  readonly capabilities = { owners: true, tombstones: true, createdAt: true } as const;
  private readonly entries = new Map<string, Entry>();
  /** bucket number (floor(expiresAt / bucketMs)) -> ids expiring in it */
  private readonly buckets = new Map<number, Set<string>>();
  private readonly owners = new Map<string, Set<string>>();

  constructor(private readonly bucketMs: number) {}

  async init(): Promise<void> {}

  async get(id: string): Promise<SessionRecord | null> {
    const entry = this.entries.get(id);
    return entry && entry.payload !== null ? toRecord(id, entry) : null;
  }

  async upsert(write: SessionWrite): Promise<boolean> {
    const previous = this.entries.get(write.id);
    if (previous && previous.payload === null && previous.expiresAt > write.now) return false; // a live tombstone
    const createdAt = previous && previous.payload !== null ? previous.createdAt : write.now;
    this.put(write.id, previous, {
      payload: write.payload,
      expiresAt: cappedExpiry(write, createdAt),
      owner: write.owner,
      createdAt,
      lastActiveAt: write.now,
    });
    return true;
  }

  async touch(touch: SessionTouch): Promise<void> {
    const previous = this.entries.get(touch.id);
    // Missing, a tombstone or expired: a touch never creates or revives.
    if (!previous || previous.payload === null || previous.expiresAt <= touch.now) return;
    const expiresAt = cappedExpiry(touch, previous.createdAt);
    this.put(touch.id, previous, { ...previous, expiresAt, lastActiveAt: touch.now });
  }

  async destroy(id: string, tombstone?: Tombstone): Promise<void> {
    const previous = this.entries.get(id);
    if (!previous) return;
    if (tombstone) this.put(id, previous, tombstoneEntry(tombstone));
    else this.remove(id, previous);
  }

  async destroyByOwner(owner: string, options: OwnerDestroy = {}): Promise<number> {
    let ended = 0;
    for (const id of [...(this.owners.get(owner) ?? [])]) {
      if (id === options.except) continue;
      await this.destroy(id, options.tombstone);
      ended++;
    }
    return ended;
  }

  async listByOwner(owner: string, now: number): Promise<SessionRecord[]> {
    const out: SessionRecord[] = [];
    for (const id of this.owners.get(owner) ?? []) {
      const entry = this.entries.get(id);
      if (entry && entry.payload !== null && entry.expiresAt > now) out.push(toRecord(id, entry));
    }
    return out;
  }

  async clear(): Promise<void> {
    this.entries.clear();
    this.buckets.clear();
    this.owners.clear();
  }

  async deleteExpired(now: number, limit: number): Promise<number> {
    const last = this.bucketOf(now);
    const due = [...this.buckets.keys()].filter((bucket) => bucket <= last).sort((a, b) => a - b);
    let deleted = 0;
    for (const bucket of due) {
      for (const id of [...(this.buckets.get(bucket) ?? [])]) {
        if (deleted >= limit) return deleted;
        const entry = this.entries.get(id);
        if (entry && entry.expiresAt <= now) {
          this.remove(id, entry);
          deleted++;
        }
      }
    }
    return deleted;
  }

  async count(now: number): Promise<number> {
    let live = 0;
    for (const entry of this.entries.values()) if (entry.payload !== null && entry.expiresAt > now) live++;
    return live;
  }

  async *stream(now: number): AsyncIterable<SessionRecord> {
    for (const [id, entry] of [...this.entries]) {
      if (entry.payload !== null && entry.expiresAt > now) yield toRecord(id, entry);
    }
  }

  async close(): Promise<void> {}

  private bucketOf(expiresAt: number): number {
    return Math.floor(expiresAt / this.bucketMs);
  }

  /** Stores `next` under `id`, moving its index entries only when its bucket or owner changed. */
  private put(id: string, previous: Entry | undefined, next: Entry): void {
    this.entries.set(id, next);
    if (previous && this.bucketOf(previous.expiresAt) === this.bucketOf(next.expiresAt)) {
      if (previous.owner === next.owner) return;
      if (previous.owner !== null) removeFrom(this.owners, previous.owner, id);
      if (next.owner !== null) addTo(this.owners, next.owner, id);
      return;
    }
    if (previous) this.unindex(id, previous);
    addTo(this.buckets, this.bucketOf(next.expiresAt), id);
    if (next.owner !== null) addTo(this.owners, next.owner, id);
  }

  private remove(id: string, entry: Entry): void {
    this.entries.delete(id);
    this.unindex(id, entry);
  }

  private unindex(id: string, entry: Entry): void {
    removeFrom(this.buckets, this.bucketOf(entry.expiresAt), id);
    if (entry.owner !== null) removeFrom(this.owners, entry.owner, id);
  }
}

function toRecord(id: string, entry: Entry): SessionRecord {
  return {
    id,
    payload: entry.payload as string,
    expiresAt: entry.expiresAt,
    owner: entry.owner,
    createdAt: entry.createdAt,
    lastActiveAt: entry.lastActiveAt,
  };
}

function tombstoneEntry(tombstone: Tombstone): Entry {
  return {
    payload: null,
    expiresAt: tombstone.until,
    owner: null,
    createdAt: tombstone.now,
    lastActiveAt: tombstone.now,
  };
}

function addTo<K>(index: Map<K, Set<string>>, key: K, id: string): void {
  const ids = index.get(key);
  if (ids) ids.add(id);
  else index.set(key, new Set([id]));
}

function removeFrom<K>(index: Map<K, Set<string>>, key: K, id: string): void {
  const ids = index.get(key);
  if (!ids) return;
  ids.delete(id);
  if (ids.size === 0) index.delete(key); // no empty buckets left behind: no leak
}
