/**
 * Remembers the stored expiry of recently read or written sessions, so `touchAfter` can skip a
 * touch that would move the expiry by less than the threshold without reading the database.
 * Bounded: the oldest entry goes when it is full. A miss only costs one ordinary touch.
 */
export class RecentExpiries {
  private readonly entries = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {}

  get(id: string): number | undefined {
    return this.entries.get(id);
  }

  set(id: string, expiresAt: number): void {
    this.entries.delete(id); // re-insert at the end: Map keeps insertion order
    this.entries.set(id, expiresAt);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(id: string): void {
    this.entries.delete(id);
  }

  clear(): void {
    this.entries.clear();
  }
}
