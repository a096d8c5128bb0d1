/**
 * Runs the operations on one key one after another, in call order, within this process.
 * Databank has no partial update, so a touch is read-then-write; without this a touch could
 * write back a payload that a concurrent upsert of the same id had just replaced.
 */
export class KeyedQueue {
  /** Per key, the settling of its last operation; absent when nothing runs on the key. */
  private readonly tails = new Map<string, Promise<void>>();

  get size(): number {
    return this.tails.size;
  }

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    const result = previous === undefined ? work() : previous.then(work);
    // One settle handler both marks the key free and is the tail the next operation waits on.
    const settled = (): void => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    const tail: Promise<void> = result.then(settled, settled);
    this.tails.set(key, tail);
    return result;
  }
}
