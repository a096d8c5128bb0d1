/**
 * Runs tasks one at a time per key, in call order. Writes to one session from this process
 * then never conflict with each other, and the last call wins as its caller expects.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    // The next task starts whether the previous one failed or not; its failure is its caller's.
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with work queued or running (for tests: the map must drain). */
  get size(): number {
    return this.#tails.size;
  }
}
