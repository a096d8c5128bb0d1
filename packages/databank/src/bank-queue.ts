import { KeyedQueue } from "@sessionkit/core";
import { callThen } from "./calls.js";
import type { BankCallback } from "./databank-shape.js";

/**
 * The core's per-key queue plus a fast path for one databank call. Databank has no partial
 * update, so a touch is read-then-write; without the queue a touch could write back a payload
 * that a concurrent upsert of the same id had just replaced.
 */
export class BankQueue extends KeyedQueue {
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
    if (this.busy(key)) return this.run(key, () => callThen(start, settle));
    let op: Promise<R> | undefined;
    let done = false;
    let retrying = false;
    const release = (): void => {
      if (op) this.release(key, op);
    };
    op = callThen(start, settle, (result) => {
      done = true;
      if (result instanceof Promise) {
        retrying = true;
        result.then(release, release);
      } else release();
    });
    // A driver that called back synchronously (without a retry) is done: nothing to hold the key for.
    if (!done || retrying) this.hold(key, op);
    return op;
  }
}
