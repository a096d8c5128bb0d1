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
 * One databank call: resolves with its value, or with `NONE` when it failed with an error
 * `expected` accepts; rejects with anything else as an Error. Settles once, whatever the driver
 * does (a second callback is ignored, a synchronous throw rejects). One promise per call: this is
 * the request path.
 */
export function call<T>(
  start: (callback: BankCallback<T>) => void,
  expected?: (error: unknown) => boolean,
): Promise<T | typeof NONE> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done: BankCallback<T> = (error, value) => {
      if (settled) return;
      settled = true;
      if (error === null || error === undefined) resolve(value as T);
      else if (expected?.(error)) resolve(NONE);
      else reject(driverError(error));
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
