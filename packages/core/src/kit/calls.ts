import { ErrorCodes, SessionStoreError } from "../errors.js";

/**
 * Calls a Node-style callback API and settles once: with the callback's error or value, or with
 * the error a synchronous throw raised. A driver that calls back twice is ignored the second time.
 * With `settle`, the promise settles with what `settle` makes of the callback's arguments (a throw
 * rejects), computed in the callback: a chain of calls costs one promise per call. A synchronous
 * throw reaches `settle` as the error.
 */
export function fromCallback<T, R = T>(
  start: (callback: (error: unknown, value?: T) => void) => void,
  settle: (error: unknown, value: T | undefined) => R | PromiseLike<R> = failOrValue,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let settled = false;
    const callback = (error: unknown, value?: T) => {
      if (settled) return;
      settled = true;
      try {
        resolve(settle(error, value));
      } catch (failure) {
        reject(failure);
      }
    };
    try {
      start(callback);
    } catch (error) {
      callback(error ?? new Error(`the callback API threw ${String(error)}`));
    }
  });
}

function failOrValue<T, R>(error: unknown, value: T | undefined): R {
  if (error !== null && error !== undefined) throw error;
  return value as unknown as R;
}

/** The rejection of an operation a backend declares it can't do (`ERR_SESSION_UNSUPPORTED`). */
export function unsupported(backend: string, what: string): Promise<never> {
  return Promise.reject(new SessionStoreError(ErrorCodes.UNSUPPORTED, `sessionkit: ${backend} ${what}`));
}
