import type { StoredBody } from "./session-document.js";

/** What we last knew of a document: its revision and its fields (for a touch without a read). */
export interface KnownRevision {
  readonly rev: string;
  readonly body: StoredBody;
}

interface Entry extends KnownRevision {
  /** Read or rewritten since the eviction scan last passed it: it gets a second chance. */
  used: boolean;
}

/**
 * A bounded map from document id to its last-known revision. An entry can be stale (another
 * process wrote since): the write then conflicts, the entry is dropped and the caller re-reads.
 * Since a revision names one exact content, a current entry's body is the stored body.
 *
 * Eviction is "second chance" (CLOCK), an approximation of least-recently-used: a hit only sets
 * a flag. Keeping a Map in use order instead (delete and re-insert on every hit and every write)
 * cost a delete and an insert per operation, and the Map rebuilds its table as deleted slots
 * pile up; over a database stub an update took about 2 µs longer that way.
 */
export class RevisionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(docId: string): KnownRevision | undefined {
    const entry = this.#entries.get(docId);
    if (entry) entry.used = true;
    return entry;
  }

  /** Remembers `rev` and `body` for `docId` and returns the entry (also when the cache is off). */
  set(docId: string, rev: string, body: StoredBody): KnownRevision {
    const known = this.#entries.has(docId);
    // A rewrite counts as a use; a new entry must be used again to outlive older used ones.
    const entry: Entry = { rev, body, used: known };
    if (this.#capacity === 0) return entry;
    // Make room first, so the scan never evicts the entry being added.
    if (!known && this.#entries.size >= this.#capacity) this.#evictOne();
    // On a known id this replaces the value in place and keeps the Map's existing key.
    this.#entries.set(docId, entry);
    return entry;
  }

  delete(docId: string): void {
    this.#entries.delete(docId);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Drops the oldest unused entry; used ones met on the way lose their flag and move to the back. */
  #evictOne(): void {
    for (const [docId, entry] of this.#entries) {
      this.#entries.delete(docId);
      if (!entry.used) return;
      entry.used = false;
      // Appended behind the cursor: the scan reaches it again only after every other entry.
      this.#entries.set(docId, entry);
    }
  }
}
