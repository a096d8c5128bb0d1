import { ErrorCodes, SessionStoreError } from "../errors.js";

/**
 * Calls a Node-style callback API and settles once: with the callback's error or value, or with
 * the error a synchronous throw raised. A driver that calls back twice is ignored the second time.
 */
export function fromCallback<T>(start: (callback: (error: unknown, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    try {
      start((error, value) => {
        if (settled) return;
        settled = true;
        if (error !== null && error !== undefined) reject(error);
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

/** The rejection of an operation a backend declares it can't do (`ERR_SESSION_UNSUPPORTED`). */
export function unsupported(backend: string, what: string): Promise<never> {
  return Promise.reject(new SessionStoreError(ErrorCodes.UNSUPPORTED, `sessionkit: ${backend} ${what}`));
}
