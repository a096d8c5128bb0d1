/**
 * Databank calls as promises, and databank's errors as answers or as proper Errors. Errors are
 * recognised by name, not class: every driver brings its own copy of databank's error classes.
 */

/** Databank's completion callback. */
export type BankCallback<T = unknown> = (error: unknown, value?: T) => void;

/** What `call` resolves with when the driver answered with the error it was told to expect. */
export const NONE: unique symbol = Symbol("none");

const named = (name: string) => (error: unknown) =>
  typeof error === "object" && error !== null && (error as { name?: unknown }).name === name;

/** NoSuchThingError: the key is missing. */
export const isMissing = named("NoSuchThingError");
/** AlreadyExistsError: `create` found the key taken. */
export const isTaken = named("AlreadyExistsError");

/**
 * One databank call: resolves with `then(value)` (or the value), where the value is `NONE` when
 * the call failed with an error `expected` accepts; rejects with any other error as an Error, or
 * with what `then` throws. `then` runs inside the driver's callback: one promise per call on the
 * request path. Settles once, whatever the driver does (a second callback is ignored, a
 * synchronous throw rejects).
 */
export function call<T, R = T | typeof NONE>(
  start: (callback: BankCallback<T>) => void,
  expected?: (error: unknown) => boolean,
  then?: (value: T | typeof NONE) => R | PromiseLike<R>,
): Promise<R> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done: BankCallback<T> = (error, value) => {
      if (settled) return;
      settled = true;
      const failed = error !== null && error !== undefined;
      if (failed && !expected?.(error)) return reject(driverError(error));
      const answer = failed ? NONE : (value as T);
      try {
        resolve(then ? then(answer) : (answer as R));
      } catch (failure) {
        reject(failure);
      }
    };
    try {
      start(done);
    } catch (error) {
      done(error ?? new Error("databank: the driver threw"));
    }
  });
}

/**
 * A driver failure as an Error with a readable message: databank's own errors keep their name,
 * and a `DatabankError` built around another Error (as drivers wrap their client's errors) gets
 * that Error's message instead of "[object Object]".
 */
export function driverError(error: unknown): Error {
  if (error instanceof Error && typeof error.message === "string") return error;
  const inner = (error as { message?: unknown } | null)?.message;
  const text = inner instanceof Error ? inner.message : typeof inner === "string" ? inner : String(error);
  return Object.assign(new Error(`databank: ${text}`, { cause: error }), {
    name: (error as { name?: unknown } | null)?.name === undefined ? "Error" : String((error as Error).name),
  });
}
