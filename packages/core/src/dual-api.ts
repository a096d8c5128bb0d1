/** Node-style callback of the express-session store interface. */
export type Callback<T> = (err: unknown, value?: T) => void;

/**
 * Gives a promise-returning operation both interfaces: with a callback it is called (on a
 * later tick, outside our promise chain, so a throwing callback can't become an unhandled
 * rejection of ours) and nothing is returned; without one the promise is returned.
 */
export function respond<T>(operation: Promise<T>, callback: Callback<T> | undefined): Promise<T> | undefined {
  if (typeof callback !== "function") return operation;
  operation.then(
    (value) => process.nextTick(callback, null, value),
    (error: unknown) => process.nextTick(callback, error),
  );
  return undefined;
}
