/**
 * Runs tasks one at a time per key, in call order, within this process. Adapters use it per
 * session id: two writes to one session then never race each other (no conflict on databases
 * with revisions, no lost update where a touch is read-then-write), and the last call wins as
 * its caller expects. Keys are forgotten as soon as their work has settled.
 */
export class KeyedQueue {
  /** Per key, the last task queued on it; absent when nothing runs on the key. */
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `task` once every earlier task on `key` has settled (at once when none is queued). */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    // Nothing queued for this key (the usual case): start now, without waiting a tick.
    // Otherwise the task starts once the previous one settles, whether it failed or not.
    const result = previous ? previous.then(task, task) : startNow(task);
    this.hold(key, result);
    const forget = () => this.release(key, result);
    // Also marks a failure as handled here; the caller still gets it from `result`.
    result.then(forget, forget);
    return result;
  }

  /** Keys with work queued or running (tests check that the map drains). */
  get size(): number {
    return this.#tails.size;
  }

  /** Whether a task is queued or running on `key`. */
  protected busy(key: string): boolean {
    return this.#tails.has(key);
  }

  /** Makes `operation` the task later ones on `key` wait for (for subclasses' own fast paths). */
  protected hold(key: string, operation: Promise<unknown>): void {
    this.#tails.set(key, operation);
  }

  /** Frees `key` if `operation` is still its last task. */
  protected release(key: string, operation: Promise<unknown>): void {
    if (this.#tails.get(key) === operation) this.#tails.delete(key);
  }
}

/** Calls the task; a synchronous throw becomes a rejection, as in `then`. */
function startNow<T>(task: () => Promise<T>): Promise<T> {
  try {
    return task();
  } catch (error) {
    return Promise.reject(error);
  }
}
