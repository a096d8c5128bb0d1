import type { StoredBody } from "./session-document.js";

/** What we last knew of a document: its revision and its fields (for a touch without a read). */
export interface KnownRevision {
  rev: string;
  body: StoredBody;
}

/**
 * A bounded least-recently-used map from document id to its last-known revision. An entry
 * can be stale (another process wrote since): the write then conflicts, the entry is dropped
 * and the caller re-reads. Since a revision names one exact content, a current entry's body
 * is the stored body.
 */
export class RevisionCache {
  readonly #entries = new Map<string, KnownRevision>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(docId: string): KnownRevision | undefined {
    const entry = this.#entries.get(docId);
    if (entry) {
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.#entries.delete(docId);
      this.#entries.set(docId, entry);
    }
    return entry;
  }

  set(docId: string, entry: KnownRevision): void {
    if (this.#capacity === 0) return;
    this.#entries.delete(docId);
    this.#entries.set(docId, entry);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
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
}
