import type { BankCallback } from "./databank-shape.js";

/**
 * Runs one databank call as a promise. Databank drivers call back once, but a few call back
 * again on later connection errors or throw synchronously: both are absorbed here so a driver
 * quirk can never resolve twice or escape as an exception.
 */
export function call<T = unknown>(start: (callback: BankCallback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    try {
      start((error, value) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve(value as T);
      });
    } catch (error) {
      if (!settled) {
        settled = true;
        reject(error);
      }
    }
  });
}

/**
 * One databank call whose callback is turned into the result by `settle` (its return value
 * resolves, its throw rejects), inside the callback: one promise per call, no extra turn. A
 * driver that throws synchronously is settled with that error; a second callback is ignored.
 * `onSettled` runs once, right before `settle`.
 */
export function callThen<T, R>(
  start: (callback: BankCallback<T>) => void,
  settle: (error: unknown, value: T | undefined) => R | Promise<R>,
  onSettled?: (result: R | Promise<R> | undefined) => void,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let settled = false;
    const finish = (error: unknown, value?: T): void => {
      if (settled) return;
      settled = true;
      let result: R | Promise<R> | undefined;
      try {
        result = settle(error, value);
      } catch (failure) {
        onSettled?.(undefined);
        reject(failure);
        return;
      }
      onSettled?.(result);
      resolve(result);
    };
    try {
      start(finish);
    } catch (error) {
      finish(error);
    }
  });
}

/**
 * Databank errors are recognised by name, not class: databank-redis brings its own databank
 * (0.19) whose error classes are not the ones of the databank the user imported.
 */
function named(error: unknown, name: string): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === name;
}

/** NoSuchThingError: the record is missing, which is an answer, not a failure. */
export const isMissing = (error: unknown): boolean => named(error, "NoSuchThingError");

/** AlreadyExistsError: `create` lost a race to another writer. */
export const isAlreadyExists = (error: unknown): boolean => named(error, "AlreadyExistsError");

/**
 * A driver failure as a proper Error. databank-redis wraps redis errors as
 * `new DatabankError(err)`, leaving an Error object where the message string should be.
 */
export function driverError(error: unknown): Error {
  if (error instanceof Error && typeof error.message === "string") return error;
  const inner = (error as { message?: unknown } | null)?.message;
  const text = inner instanceof Error ? inner.message : typeof inner === "string" ? inner : String(error);
  return new Error(`databank: ${text}`, { cause: error });
}

/** Runs `work` over `items` with at most `limit` in flight; rejects with the first failure after all settled. */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
