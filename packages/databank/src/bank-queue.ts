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

  /**
   * One databank call for each key that nothing is queued or running on, all started at once.
   * Answers, per key in order, `BUSY` (not called: something else runs on it), `null` (done) or
   * the call's error, once every call has called back. One promise for the whole batch where
   * `call` costs one per key: GC deletes thousands of records this way, and leaves a record
   * that is being written for its next run.
   *
   * The keys are not held while the calls run (holding cost a third of GC's time on the memory
   * driver): a write that starts meanwhile is issued after the call, and the drivers tested
   * here (memory, redis) apply one connection's commands in order.
   */
  callEachIdle(keys: readonly string[], start: (key: string, callback: BankCallback) => void): Promise<unknown[]> {
    const outcomes: unknown[] = new Array(keys.length);
    const idle: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      if (this.busy(keys[i] as string)) outcomes[i] = BUSY;
      else idle.push(i);
    }
    if (idle.length === 0) return Promise.resolve(outcomes);
    return new Promise((resolve) => {
      let left = idle.length;
      const settle = (i: number, error: unknown): void => {
        if (outcomes[i] !== undefined) return; // a driver that calls back twice
        outcomes[i] = error ?? null;
        if (--left === 0) resolve(outcomes);
      };
      for (const i of idle) {
        try {
          start(keys[i] as string, (error) => settle(i, error));
        } catch (error) {
          settle(i, error);
        }
      }
    });
  }
}

/** `callEachIdle`'s answer for a key it left alone because something else runs on it. */
export const BUSY: unique symbol = Symbol("busy");
