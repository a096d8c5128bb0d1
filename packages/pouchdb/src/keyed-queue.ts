/**
 * Runs tasks one at a time per key, in call order. Writes to one session from this process
 * then never conflict with each other, and the last call wins as its caller expects.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    // Nothing queued for this key (the usual case): start now, without waiting a tick.
    // Otherwise the task starts once the previous one settles, whether it failed or not.
    const result = previous ? previous.then(task, task) : startNow(task);
    this.#tails.set(key, result);
    const forget = () => {
      if (this.#tails.get(key) === result) this.#tails.delete(key);
    };
    // Also marks a failure as handled here; the caller still gets it from `result`.
    result.then(forget, forget);
    return result;
  }

  /** Keys with work queued or running (for tests: the map must drain). */
  get size(): number {
    return this.#tails.size;
  }
}

/** Calls the task; a synchronous throw becomes a rejection, like in `then`. */
function startNow<T>(task: () => Promise<T>): Promise<T> {
  try {
    return task();
  } catch (error) {
    return Promise.reject(error);
  }
}
