import type { DatabankLike } from "./index.js";

/** Databank's completion callback. */
export type BankCallback<T = unknown> = (error: unknown, value?: T) => void;

// Databank's errors are told apart by name: every driver brings its own copy of their classes.
const named = (name: string) => (error: unknown) => (error as { name?: unknown } | null)?.name === name;
export const isMissing = named("NoSuchThingError");
const isTaken = named("AlreadyExistsError");

/**
 * A driver failure as an Error with a readable message: a `DatabankError` built around another
 * Error (as drivers wrap their client's errors) gets that Error's message, not "[object Object]".
 */
export function driverError(error: unknown): Error {
  if (error instanceof Error) return error;
  const inner = (error as { message?: unknown } | null)?.message;
  const text = inner instanceof Error ? inner.message : typeof inner === "string" ? inner : String(error);
  const name = (error as { name?: unknown } | null)?.name;
  return Object.assign(new Error(`databank: ${text}`, { cause: error }), { name: String(name ?? "Error") });
}

/**
 * One databank call as a promise, settled once whatever the driver does (a second callback is
 * ignored, a synchronous throw rejects): `then` of the value, or of `fallback` when the driver
 * answered with the error `expected` accepts; any other error rejects as an Error. `then` runs in
 * the driver's callback: a chain of calls costs one promise per call.
 */
export function call<T, R = T>(
  start: (cb: BankCallback) => void,
  expected?: (error: unknown) => boolean,
  fallback?: T,
  then?: (value: T) => R | PromiseLike<R>,
): Promise<R> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done: BankCallback = (error, value) => {
      if (settled) return;
      settled = true;
      const failed = error !== null && error !== undefined;
      if (failed && !expected?.(error)) return reject(driverError(error));
      try {
        const answer = (failed ? fallback : value) as T;
        resolve(then ? then(answer) : (answer as unknown as R));
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

/** The calls the adapter makes, as promises; a missing key and a taken one are answers, not failures. */
export class Bank {
  constructor(readonly db: DatabankLike) {}
  read = (type: string, id: string) => call<unknown>((cb) => this.db.read(type, id, cb), isMissing, undefined);
  readAll = (type: string, ids: string[]): Promise<Record<string, unknown>> =>
    ids.length === 0
      ? Promise.resolve({})
      : call<Record<string, unknown> | null>((cb) => this.db.readAll(type, ids, cb)).then((v) => v ?? {});
  /** false: the key is taken. */
  create = (type: string, id: string, value: unknown) =>
    call((cb) => this.db.create(type, id, value, cb), isTaken, false).then((v) => v !== false);
  /** false: the key is missing (databank's update never creates). */
  update = (type: string, id: string, value: unknown) =>
    call((cb) => this.db.update(type, id, value, cb), isMissing, false).then((v) => v !== false);
  save = (type: string, id: string, value: unknown) => call<void>((cb) => this.db.save(type, id, value, cb));
  /** false: the key was missing. */
  del = (type: string, id: string) =>
    call((cb) => this.db.del(type, id, cb), isMissing, false).then((v) => v !== false);
  incr = (type: string, id: string) => call<number>((cb) => this.db.incr(type, id, cb)).then(Number);
  /** Some drivers report an empty type as missing. */
  scan = (type: string, onValue: (value: unknown) => void) =>
    call<void>((cb) => this.db.scan(type, onValue, cb), isMissing);
}
