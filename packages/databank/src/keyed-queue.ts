import { callThen } from "./calls.js";
import type { BankCallback } from "./databank-shape.js";

/**
 * Runs the operations on one key one after another, in call order, within this process.
 * Databank has no partial update, so a touch is read-then-write; without this a touch could
 * write back a payload that a concurrent upsert of the same id had just replaced.
 */
export class KeyedQueue {
  /** Per key, the last operation queued on it (it may reject); absent when nothing runs on the key. */
  private readonly tails = new Map<string, Promise<unknown>>();

  get size(): number {
    return this.tails.size;
  }

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    const result = previous === undefined ? work() : previous.then(work, work);
    // One settle handler both marks the key free and is the tail the next operation waits on.
    const settled = (): void => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    const tail: Promise<void> = result.then(settled, settled);
    this.tails.set(key, tail);
    return result;
  }

  /**
   * One databank call on `key`, queued like `run`, its callback turned into the result by
   * `settle` (see `callThen`). When nothing else runs on the key (the request path's usual
   * case) the call is issued at once and the key is freed inside the driver's callback: one
   * promise and no extra turn, where `run` costs three promises. A `settle` that returns a
   * promise (a retry) keeps the key until that promise settles.
   */
  call<T, R>(
    key: string,
    start: (callback: BankCallback<T>) => void,
    settle: (error: unknown, value: T | undefined) => R | Promise<R>,
  ): Promise<R> {
    if (this.tails.has(key)) return this.run(key, () => callThen(start, settle));
    let op: Promise<R> | undefined;
    let done = false;
    let retrying = false;
    const release = (): void => {
      if (this.tails.get(key) === op) this.tails.delete(key);
    };
    op = callThen(start, settle, (result) => {
      done = true;
      if (result instanceof Promise) {
        retrying = true;
        result.then(release, release);
      } else release();
    });
    // A driver that called back synchronously (without a retry) is done: nothing to hold the key for.
    if (!done || retrying) this.tails.set(key, op);
    return op;
  }
}
